# Install rules for libstek: the public header, the shared and static
# libraries, a pkg-config file (stek.pc) and a CMake package (find_package).
# Included from libstek/CMakeLists.txt after the targets are defined.
include(CMakePackageConfigHelpers)

set(STEK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/stek)

# Consumers of an add_subdirectory() build can use the same names.
add_library(stek::stek ALIAS stek)
add_library(stek::stek_static ALIAS stek_static)

install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/include/stek.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(TARGETS stek stek_static EXPORT stekTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT stekTargets NAMESPACE stek:: FILE stekTargets.cmake
  DESTINATION ${STEK_CMAKE_DIR})

configure_package_config_file(cmake/stekConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/stekConfig.cmake
  INSTALL_DESTINATION ${STEK_CMAKE_DIR})
# 0.x: a minor release may break the API, so only the same minor matches.
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/stekConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/stekConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/stekConfigVersion.cmake
  DESTINATION ${STEK_CMAKE_DIR})

# stek.pc is written at install time so that it names the real prefix, also
# when it is chosen then (cmake --install build --prefix /somewhere).
foreach(_d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_d}}")
    set(STEK_PC_${_d} "${CMAKE_INSTALL_${_d}}")
  else()
    set(STEK_PC_${_d} "\${prefix}/${CMAKE_INSTALL_${_d}}")
  endif()
endforeach()
install(CODE "
  set(STEK_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(STEK_PC_LIBDIR [[${STEK_PC_LIBDIR}]])
  set(STEK_PC_INCLUDEDIR [[${STEK_PC_INCLUDEDIR}]])
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_CURRENT_SOURCE_DIR}/stek.pc.in\"
    \"${CMAKE_CURRENT_BINARY_DIR}/stek.pc\" @ONLY)
")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/stek.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

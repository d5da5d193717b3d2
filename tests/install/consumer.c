/* An outside program using an installed libstek: only <stek.h> and the
 * library, found by find_package(stek) or pkg-config. */
#include <stdio.h>
#include <string.h>

#include <stek.h>

int main(void) {
  if (strcmp(stek_version(), STEK_VERSION_STRING) != 0) {
    fprintf(stderr, "header says %s, library says %s\n", STEK_VERSION_STRING,
            stek_version());
    return 1;
  }
  printf("stek %s\n", stek_version());
  printf("STEK_EINVAL: %s\n", stek_strerror(STEK_EINVAL));
  return 0;
}

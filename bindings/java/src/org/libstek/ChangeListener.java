package org.libstek;

/**
 * Told of each record a committed change touched. See
 * {@link Store#setChangeListener} for the thread it runs on.
 */
@FunctionalInterface
public interface ChangeListener {
  enum Origin { LOCAL, REMOTE }

  void onChange(String type, String id, Origin origin);
}

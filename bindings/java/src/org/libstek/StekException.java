package org.libstek;

import java.nio.charset.StandardCharsets;

/**
 * A libstek failure: {@link #code()} is the negative STEK_E* code of
 * stek.h, {@link #getMessage()} the detail stek_errmsg() gave (or
 * stek_strerror() of the code when there was none).
 */
public class StekException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public static final int ERROR = -1;
  public static final int ENOMEM = -2;
  public static final int EINVAL = -3;
  public static final int EIO = -4;
  public static final int ENOTFOUND = -5;
  /** The call is not valid now -- also any call on a closed handle. */
  public static final int ESTATE = -6;
  public static final int ENOSPACE = -7;
  public static final int ECORRUPT = -8;
  public static final int ETRUNCATED = -10;
  public static final int ETOOBIG = -11;
  public static final int EMALFORMED = -12;
  public static final int ESIGNATURE = -13;
  public static final int EFUTURE = -14;
  public static final int EVERSION = -15;
  public static final int ETIMEDOUT = -16;
  public static final int ECANCELED = -17;
  public static final int ENET = -18;
  public static final int EKEY = -19;
  public static final int EREVOKED = -20;
  public static final int EREFUSED = -21;
  public static final int EBUSY = -22;

  private final int code;

  public StekException(int code, String message) {
    super(message);
    this.code = code;
  }

  /** The STEK_E* code (negative). */
  public int code() {
    return code;
  }

  /** stek_strerror() of the code: "invalid argument", ... */
  public String codeName() {
    return Native.str(Native.strerror(code));
  }

  @Override
  public String toString() {
    return "StekException(" + code + "): " + getMessage();
  }

  // Called from stekjni.c, with the message as UTF-8.
  static StekException fromNative(int code, byte[] message) {
    return new StekException(code, new String(message, StandardCharsets.UTF_8));
  }
}

/* error.c -- names of result codes. */
#include "stek.h"

const char *stek_strerror(int code) {
  switch (code) {
    case STEK_OK: return "success";
    case STEK_DUPLICATE: return "change already held";
    case STEK_ERROR: return "unspecified error";
    case STEK_ENOMEM: return "out of memory";
    case STEK_EINVAL: return "invalid argument";
    case STEK_EIO: return "store could not be read or written";
    case STEK_ENOTFOUND: return "no such record";
    case STEK_ESTATE: return "call not valid in the current state";
    case STEK_ENOSPACE: return "no such space, or none chosen";
    case STEK_ECORRUPT: return "stored data is damaged";
    case STEK_ETRUNCATED: return "input is truncated";
    case STEK_ETOOBIG: return "input exceeds a size or count limit";
    case STEK_EMALFORMED: return "input is malformed or not canonical";
    case STEK_ESIGNATURE: return "signature does not verify";
    case STEK_EFUTURE: return "timestamp too far in the future";
    case STEK_EVERSION: return "unsupported format version";
    case STEK_ETIMEDOUT: return "timed out";
    case STEK_ECANCELED: return "cancelled";
    case STEK_ENET: return "network error";
    case STEK_EKEY: return "wrong passphrase or key";
    case STEK_EREVOKED: return "the device was revoked from the space";
    case STEK_EBUSY: return "too many concurrent sessions";
    case STEK_EREFUSED: return "the other side or the user did not confirm the pairing code";
    default: return "unknown error code";
  }
}

/*
 * stekjni.c -- the JNI half of the Java binding (org.libstek).
 *
 * Every native method is a static method of org.libstek.Native and does
 * one stek.h call (Native.java lists the few that pick between two, and
 * what is not bound): it copies its arguments out of Java arrays (and, to
 * open a store, a StoreOptions' fields: arg_config), calls the library,
 * and either returns the result or throws StekException with the code and
 * stek_errmsg().  Strings cross as byte[] of standard UTF-8 (the
 * Java side encodes and decodes them), never through GetStringUTFChars,
 * whose "modified UTF-8" would mangle characters outside the BMP and NUL.
 * Results that are lists come back through calls on an org.libstek.Sink
 * object, whose methods never throw.
 *
 * It must never: keep a JNIEnv across calls (callbacks run on the calling
 * thread, the change callback looks its env up; a server's callbacks run on
 * its own native thread, attached to the VM for each call), hold a local
 * reference past the callback that made it, or call into Java with an
 * exception pending.  Locking is the Java side's job (see Store.java): a
 * handle here is used by one thread at a time and freed exactly once.
 */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "org_libstek_Native.h"
#include "stek.h"

/* A store handle as Java holds it (Store.handle): the stek handle and the
 * Sink its change callback reports to (a global reference, or NULL). */
typedef struct jstek {
  stek *s;
  jobject change_sink;
} jstek;

static JavaVM *g_vm;
static jclass g_exception;   /* org.libstek.StekException */
static jmethodID g_exception_make;
static jclass g_long;        /* java.lang.Long */
static jmethodID g_long_value;
static jclass g_bytes;       /* byte[] */
static jclass g_bytes_array; /* byte[][] */
static jmethodID g_sink_changed, g_sink_record_begin, g_sink_field_int,
    g_sink_field_str, g_sink_field_list, g_sink_record_end, g_sink_occurrence,
    g_sink_signal, g_sink_space, g_sink_peer, g_sink_progress, g_sink_session_end,
    g_sink_pair_confirm;
/* The fields of org.libstek.StoreOptions that arg_config reads. */
static jfieldID g_opts_passphrase, g_opts_opslimit, g_opts_memlimit, g_opts_zoneinfo_dir,
    g_opts_local_tz;

/* ---- Helpers ------------------------------------------------------------ */

static void throw_code(JNIEnv *env, int code, const char *msg) {
  if ((*env)->ExceptionCheck(env)) return;
  if (!msg || !*msg) msg = stek_strerror(code);
  size_t n = strlen(msg);
  jbyteArray m = (*env)->NewByteArray(env, (jsize)n);
  if (!m) return; /* OutOfMemoryError pending */
  (*env)->SetByteArrayRegion(env, m, 0, (jsize)n, (const jbyte *)msg);
  jobject e = (*env)->CallStaticObjectMethod(env, g_exception, g_exception_make,
                                             (jint)code, m);
  if (e && !(*env)->ExceptionCheck(env)) (*env)->Throw(env, (jthrowable)e);
}

static void throw_rc(JNIEnv *env, const stek *s, int rc) {
  throw_code(env, rc, s ? stek_errmsg(s) : NULL);
}

static jbyteArray out_bytes(JNIEnv *env, const void *p, size_t n) {
  jbyteArray a = (*env)->NewByteArray(env, (jsize)n);
  if (a && n) (*env)->SetByteArrayRegion(env, a, 0, (jsize)n, (const jbyte *)p);
  return a;
}

/* A NUL-terminated string as byte[] (NULL stays null). */
static jbyteArray out_str(JNIEnv *env, const char *s) {
  return s ? out_bytes(env, s, strlen(s)) : NULL;
}

/* The C copies of one call's arguments, freed together by args_free();
 * a secret's copy (arg_secret) is zeroed first. */
typedef struct args {
  void *p[16];
  size_t wipe[16]; /* bytes of p[i] to zero before it is freed */
  int n;
  int failed;
} args;

static void *args_keep(JNIEnv *env, args *a, void *p) {
  if (!p || a->n == (int)(sizeof a->p / sizeof a->p[0])) {
    free(p);
    a->failed = 1;
    throw_code(env, STEK_ENOMEM, "out of memory");
    return NULL;
  }
  a->wipe[a->n] = 0;
  a->p[a->n++] = p;
  return p;
}

/* Called through a volatile pointer, so that zeroing a buffer just before
 * it is freed is not optimised away as a dead store. */
static void *(*const volatile wipe_bytes)(void *, int, size_t) = memset;

static void args_free(args *a) {
  for (int i = 0; i < a->n; i++) {
    if (a->wipe[i]) wipe_bytes(a->p[i], 0, a->wipe[i]);
    free(a->p[i]);
  }
  a->n = 0;
}

/* byte[] -> a NUL-terminated copy (null -> NULL; *len gets the length). */
static const char *arg_str(JNIEnv *env, args *a, jbyteArray b, size_t *len) {
  if (len) *len = 0;
  if (!b) return NULL;
  jsize n = (*env)->GetArrayLength(env, b);
  char *p = args_keep(env, a, malloc((size_t)n + 1));
  if (!p) return NULL;
  (*env)->GetByteArrayRegion(env, b, 0, n, (jbyte *)p);
  p[n] = 0;
  if (len) *len = (size_t)n;
  return p;
}

/* arg_str for a passphrase: args_free() zeroes the copy before freeing it. */
static const char *arg_secret(JNIEnv *env, args *a, jbyteArray b, size_t *len) {
  const char *p = arg_str(env, a, b, len);
  if (p) a->wipe[a->n - 1] = *len;
  return p;
}

/* A 16-byte id from byte[16] (the Java side has parsed the hex). */
static int arg_id(JNIEnv *env, jbyteArray b, uint8_t id[STEK_ID_BYTES]) {
  if (!b || (*env)->GetArrayLength(env, b) != STEK_ID_BYTES) {
    throw_code(env, STEK_EINVAL, "an id is 16 bytes (32 hex digits)");
    return -1;
  }
  (*env)->GetByteArrayRegion(env, b, 0, STEK_ID_BYTES, (jbyte *)id);
  return 0;
}

/* A field value: null (NONE), Long, byte[] (a string) or byte[][] (a list
 * of strings), as Native.value() makes them. */
static int arg_value(JNIEnv *env, args *a, jobject v, stek_value *out) {
  memset(out, 0, sizeof *out);
  if (!v) return 0;
  if ((*env)->IsInstanceOf(env, v, g_long)) {
    out->kind = STEK_VALUE_INT;
    out->i = (*env)->CallLongMethod(env, v, g_long_value);
    return 0;
  }
  if ((*env)->IsInstanceOf(env, v, g_bytes)) {
    out->kind = STEK_VALUE_STR;
    out->str = arg_str(env, a, (jbyteArray)v, NULL);
    return out->str ? 0 : -1;
  }
  if ((*env)->IsInstanceOf(env, v, g_bytes_array)) {
    jsize n = (*env)->GetArrayLength(env, (jobjectArray)v);
    const char **list = args_keep(env, a, calloc((size_t)n + 1, sizeof *list));
    if (!list) return -1;
    for (jsize i = 0; i < n; i++) {
      jobject e = (*env)->GetObjectArrayElement(env, (jobjectArray)v, i);
      list[i] = arg_str(env, a, (jbyteArray)e, NULL);
      (*env)->DeleteLocalRef(env, e);
      if (!list[i]) {
        if (!a->failed) throw_code(env, STEK_EINVAL, "a list holds a null");
        return -1;
      }
    }
    out->kind = STEK_VALUE_LIST;
    out->list = list;
    out->list_len = (size_t)n;
    return 0;
  }
  throw_code(env, STEK_EINVAL, "unsupported value type");
  return -1;
}

static stek *handle(JNIEnv *env, jlong h) {
  if (!h) {
    throw_code(env, STEK_ESTATE, "the store is closed");
    return NULL;
  }
  return ((jstek *)(intptr_t)h)->s;
}

/* A byte[] field of obj, copied as arg_str (or arg_secret) does. */
static const char *arg_field(JNIEnv *env, args *a, jobject obj, jfieldID f, size_t *secret_len) {
  jbyteArray b = (jbyteArray)(*env)->GetObjectField(env, obj, f);
  const char *p = secret_len ? arg_secret(env, a, b, secret_len) : arg_str(env, a, b, NULL);
  if (b) (*env)->DeleteLocalRef(env, b);
  return p;
}

/* The stek_config a Java StoreOptions describes (null: the defaults), its
 * strings copied into a (the passphrase wiped by args_free).  The one
 * place that reads StoreOptions: every call that opens a store (open,
 * announcerStart, serverStart) comes through here, so an option added to
 * StoreOptions is read here alone. */
static int arg_config(JNIEnv *env, args *a, stek_config *cfg, jobject opts) {
  stek_config_init(cfg);
  if (!opts) return 0;
  size_t plen = 0;
  cfg->passphrase = arg_field(env, a, opts, g_opts_passphrase, &plen);
  cfg->passphrase_len = plen;
  cfg->pwhash_opslimit = (unsigned long long)(*env)->GetLongField(env, opts, g_opts_opslimit);
  cfg->pwhash_memlimit = (size_t)(*env)->GetLongField(env, opts, g_opts_memlimit);
  cfg->zoneinfo_dir = arg_field(env, a, opts, g_opts_zoneinfo_dir, NULL);
  cfg->local_tz = arg_field(env, a, opts, g_opts_local_tz, NULL);
  return a->failed ? -1 : 0;
}

/* ---- Callbacks ---------------------------------------------------------- */

/* The context of callbacks that run during one native call, on its thread. */
typedef struct call_ctx {
  JNIEnv *env;
  jobject sink;
} call_ctx;

/* Report a record as recordBegin, one field* per field, recordEnd. */
static int emit_record(JNIEnv *env, jobject sink, const stek_record *r) {
  if ((*env)->ExceptionCheck(env) || (*env)->PushLocalFrame(env, 16) < 0) return 1;
  (*env)->CallVoidMethod(env, sink, g_sink_record_begin,
                         out_str(env, stek_record_type(r)),
                         out_bytes(env, stek_record_id(r), STEK_ID_BYTES));
  size_t n = stek_record_field_count(r);
  for (size_t i = 0; i < n && !(*env)->ExceptionCheck(env); i++) {
    const char *name;
    stek_value v;
    if (stek_record_field(r, i, &name, &v) != STEK_OK) continue;
    jbyteArray jname = out_str(env, name);
    if (v.kind == STEK_VALUE_INT) {
      (*env)->CallVoidMethod(env, sink, g_sink_field_int, jname, (jlong)v.i);
    } else if (v.kind == STEK_VALUE_STR) {
      jbyteArray s = out_str(env, v.str);
      (*env)->CallVoidMethod(env, sink, g_sink_field_str, jname, s);
      (*env)->DeleteLocalRef(env, s);
    } else if (v.kind == STEK_VALUE_LIST) {
      jobjectArray l = (*env)->NewObjectArray(env, (jsize)v.list_len, g_bytes, NULL);
      for (size_t j = 0; l && j < v.list_len; j++) {
        jbyteArray e = out_str(env, v.list[j]);
        (*env)->SetObjectArrayElement(env, l, (jsize)j, e);
        (*env)->DeleteLocalRef(env, e);
      }
      if (l) (*env)->CallVoidMethod(env, sink, g_sink_field_list, jname, l);
      (*env)->DeleteLocalRef(env, l);
    }
    (*env)->DeleteLocalRef(env, jname);
  }
  if (!(*env)->ExceptionCheck(env)) (*env)->CallVoidMethod(env, sink, g_sink_record_end);
  (*env)->PopLocalFrame(env, NULL);
  return (*env)->ExceptionCheck(env) ? 1 : 0;
}

static int record_cb(void *ctx, const stek_record *r) {
  call_ctx *c = ctx;
  return emit_record(c->env, c->sink, r);
}

static int occurrence_cb(void *ctx, const stek_occurrence *o) {
  call_ctx *c = ctx;
  JNIEnv *env = c->env;
  if ((*env)->ExceptionCheck(env) || (*env)->PushLocalFrame(env, 8) < 0) return 1;
  (*env)->CallVoidMethod(env, c->sink, g_sink_occurrence,
                         out_bytes(env, o->id, STEK_ID_BYTES), out_str(env, o->start),
                         out_str(env, o->end), (jlong)o->start_ms, (jlong)o->end_ms,
                         out_str(env, o->title), out_str(env, o->site));
  (*env)->PopLocalFrame(env, NULL);
  return (*env)->ExceptionCheck(env) ? 1 : 0;
}

static int signal_cb(void *ctx, const stek_signal *sg) {
  call_ctx *c = ctx;
  JNIEnv *env = c->env;
  if ((*env)->ExceptionCheck(env) || (*env)->PushLocalFrame(env, 8) < 0) return 1;
  (*env)->CallVoidMethod(env, c->sink, g_sink_signal,
                         out_bytes(env, sg->id, STEK_ID_BYTES), out_str(env, sg->week),
                         out_str(env, sg->theme), out_str(env, sg->site),
                         out_str(env, sg->text));
  (*env)->PopLocalFrame(env, NULL);
  return (*env)->ExceptionCheck(env) ? 1 : 0;
}

static int peer_cb(void *ctx, const stek_peer *p) {
  call_ctx *c = ctx;
  JNIEnv *env = c->env;
  if ((*env)->ExceptionCheck(env) || (*env)->PushLocalFrame(env, 4) < 0) return 1;
  jboolean stop = (*env)->CallBooleanMethod(env, c->sink, g_sink_peer,
                                            out_bytes(env, p->space, STEK_ID_BYTES),
                                            out_str(env, p->host), (jint)p->port);
  (*env)->PopLocalFrame(env, NULL);
  return ((*env)->ExceptionCheck(env) || stop) ? 1 : 0;
}

static void progress_cb(void *ctx, const stek_sync_stats *st) {
  call_ctx *c = ctx;
  JNIEnv *env = c->env;
  if ((*env)->ExceptionCheck(env)) return;
  (*env)->CallVoidMethod(env, c->sink, g_sink_progress, (jlong)st->ops_sent,
                         (jlong)st->ops_received, (jlong)st->ops_total,
                         (jlong)st->bytes_sent, (jlong)st->bytes_received,
                         (jlong)st->round_trips, (jlong)st->bytes_total);
}

/* The change callback runs on the thread of the call that committed, which
 * is a Java thread inside a Native method: it is attached, so GetEnv finds
 * its env.  The Sink only queues the change (Store delivers it after the
 * call returns), so nothing here re-enters the handle. */
static void change_cb(void *ctx, const char *type, const uint8_t id[STEK_ID_BYTES],
                      int origin) {
  jstek *h = ctx;
  JNIEnv *env = NULL;
  if (!h->change_sink ||
      (*g_vm)->GetEnv(g_vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK)
    return;
  if ((*env)->ExceptionCheck(env) || (*env)->PushLocalFrame(env, 4) < 0) return;
  (*env)->CallVoidMethod(env, h->change_sink, g_sink_changed, out_str(env, type),
                         out_bytes(env, id, STEK_ID_BYTES), (jint)origin);
  (*env)->PopLocalFrame(env, NULL);
}

/* ---- Loading ------------------------------------------------------------ */

static jclass global_class(JNIEnv *env, const char *name) {
  jclass c = (*env)->FindClass(env, name);
  if (!c) return NULL;
  jclass g = (*env)->NewGlobalRef(env, c);
  (*env)->DeleteLocalRef(env, c);
  return g;
}

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
  (void)reserved;
  JNIEnv *env;
  if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_6) != JNI_OK) return JNI_ERR;
  g_vm = vm;
  g_exception = global_class(env, "org/libstek/StekException");
  g_long = global_class(env, "java/lang/Long");
  g_bytes = global_class(env, "[B");
  g_bytes_array = global_class(env, "[[B");
  jclass sink = (*env)->FindClass(env, "org/libstek/Sink");
  jclass opts = (*env)->FindClass(env, "org/libstek/StoreOptions");
  if (!g_exception || !g_long || !g_bytes || !g_bytes_array || !sink || !opts) return JNI_ERR;
  g_exception_make = (*env)->GetStaticMethodID(env, g_exception, "fromNative",
                                               "(I[B)Lorg/libstek/StekException;");
  g_long_value = (*env)->GetMethodID(env, g_long, "longValue", "()J");
  g_sink_changed = (*env)->GetMethodID(env, sink, "changed", "([B[BI)V");
  g_sink_record_begin = (*env)->GetMethodID(env, sink, "recordBegin", "([B[B)V");
  g_sink_field_int = (*env)->GetMethodID(env, sink, "fieldInt", "([BJ)V");
  g_sink_field_str = (*env)->GetMethodID(env, sink, "fieldStr", "([B[B)V");
  g_sink_field_list = (*env)->GetMethodID(env, sink, "fieldList", "([B[[B)V");
  g_sink_record_end = (*env)->GetMethodID(env, sink, "recordEnd", "()V");
  g_sink_occurrence = (*env)->GetMethodID(env, sink, "occurrence", "([B[B[BJJ[B[B)V");
  g_sink_signal = (*env)->GetMethodID(env, sink, "signal", "([B[B[B[B[B)V");
  g_sink_space = (*env)->GetMethodID(env, sink, "space", "([B[B)V");
  g_sink_peer = (*env)->GetMethodID(env, sink, "peer", "([B[BI)Z");
  g_sink_progress = (*env)->GetMethodID(env, sink, "progress", "(JJJJJJJ)V");
  g_sink_session_end = (*env)->GetMethodID(env, sink, "sessionEnd", "(I[B)V");
  g_sink_pair_confirm = (*env)->GetMethodID(env, sink, "pairConfirm", "([B)Z");
  (*env)->DeleteLocalRef(env, sink);
  g_opts_passphrase = (*env)->GetFieldID(env, opts, "passphrase", "[B");
  g_opts_opslimit = (*env)->GetFieldID(env, opts, "opslimit", "J");
  g_opts_memlimit = (*env)->GetFieldID(env, opts, "memlimit", "J");
  g_opts_zoneinfo_dir = (*env)->GetFieldID(env, opts, "zoneinfoDir", "[B");
  g_opts_local_tz = (*env)->GetFieldID(env, opts, "localTz", "[B");
  (*env)->DeleteLocalRef(env, opts);
  if ((*env)->ExceptionCheck(env)) return JNI_ERR;
  return JNI_VERSION_1_6;
}

#define FN(name) Java_org_libstek_Native_##name
#define JARGS JNIEnv *env, jclass cls

/* ---- Library ------------------------------------------------------------ */

JNIEXPORT jbyteArray JNICALL FN(version)(JARGS) {
  (void)cls;
  return out_str(env, stek_version());
}

JNIEXPORT jbyteArray JNICALL FN(strerror)(JARGS, jint code) {
  (void)cls;
  return out_str(env, stek_strerror(code));
}

JNIEXPORT jbyteArray JNICALL FN(newId)(JARGS) {
  (void)cls;
  uint8_t id[STEK_ID_BYTES];
  stek_id_new(id);
  return out_bytes(env, id, sizeof id);
}

/* For the binding's leak test only (Native.debugHeapInUse): the bytes the C
 * heap has handed out and not had back -- glibc's mallinfo2() uordblks
 * (arenas) plus hblkhd (mmap'd chunks) -- or -1 where that cannot be known:
 * not glibc 2.33+, or under AddressSanitizer, whose allocator mallinfo2
 * does not see. */
#if defined(__SANITIZE_ADDRESS__)
#define STEKJNI_HEAP_COUNTED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STEKJNI_HEAP_COUNTED 0
#endif
#endif
#if !defined(STEKJNI_HEAP_COUNTED) && defined(__GLIBC__) && \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#define STEKJNI_HEAP_COUNTED 1
#endif

JNIEXPORT jlong JNICALL FN(debugHeapInUse)(JARGS) {
  (void)env;
  (void)cls;
#if defined(STEKJNI_HEAP_COUNTED) && STEKJNI_HEAP_COUNTED
  struct mallinfo2 m = mallinfo2();
  return (jlong)(m.uordblks + m.hblkhd);
#else
  return -1;
#endif
}

/* ---- Store -------------------------------------------------------------- */

JNIEXPORT jlong JNICALL FN(open)(JARGS, jbyteArray jpath, jobject opts) {
  (void)cls;
  args a = {0};
  stek_config cfg;
  const char *path = arg_str(env, &a, jpath, NULL);
  jlong result = 0;
  if (path && arg_config(env, &a, &cfg, opts) == 0) {
    jstek *h = calloc(1, sizeof *h);
    if (!h) {
      throw_code(env, STEK_ENOMEM, NULL);
    } else {
      int rc = stek_open(&h->s, path, &cfg);
      if (rc != STEK_OK) {
        throw_rc(env, h->s, rc);
        stek_close(h->s);
        free(h);
      } else {
        result = (jlong)(intptr_t)h;
      }
    }
  }
  args_free(&a);
  return result;
}

JNIEXPORT void JNICALL FN(close)(JARGS, jlong jh) {
  (void)cls;
  jstek *h = (jstek *)(intptr_t)jh;
  if (!h) return;
  stek_close(h->s);
  if (h->change_sink) (*env)->DeleteGlobalRef(env, h->change_sink);
  free(h);
}

/* A new passphrase (null: plaintext); the copy is wiped before it is freed. */
JNIEXPORT void JNICALL FN(rekey)(JARGS, jlong h, jbyteArray pass) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  size_t len = 0;
  const char *p = arg_secret(env, &a, pass, &len);
  if (!a.failed) {
    int rc = stek_rekey(s, p, len);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
}

JNIEXPORT void JNICALL FN(setChangeSink)(JARGS, jlong jh, jobject sink) {
  (void)cls;
  if (!handle(env, jh)) return;
  jstek *h = (jstek *)(intptr_t)jh;
  if (h->change_sink) (*env)->DeleteGlobalRef(env, h->change_sink);
  h->change_sink = sink ? (*env)->NewGlobalRef(env, sink) : NULL;
  stek_set_change_callback(h->s, h->change_sink ? change_cb : NULL, h);
}

JNIEXPORT jbyteArray JNICALL FN(deviceId)(JARGS, jlong h) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  uint8_t id[STEK_DEVICE_ID_BYTES];
  stek_device_id(s, id);
  return out_bytes(env, id, sizeof id);
}

JNIEXPORT jbyteArray JNICALL FN(spaceCreate)(JARGS, jlong h, jbyteArray jname) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  args a = {0};
  const char *name = arg_str(env, &a, jname, NULL);
  jbyteArray r = NULL;
  if (!a.failed) {
    uint8_t id[STEK_ID_BYTES];
    int rc = stek_space_create(s, name ? name : "", id);
    if (rc != STEK_OK) throw_rc(env, s, rc);
    else r = out_bytes(env, id, sizeof id);
  }
  args_free(&a);
  return r;
}

JNIEXPORT void JNICALL FN(spaces)(JARGS, jlong h, jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  size_t n;
  int rc = stek_space_count(s, &n);
  for (size_t i = 0; rc == STEK_OK && i < n && !(*env)->ExceptionCheck(env); i++) {
    uint8_t id[STEK_ID_BYTES];
    const char *name;
    rc = stek_space_get(s, i, id, &name);
    if (rc != STEK_OK) break;
    jbyteArray jid = out_bytes(env, id, sizeof id), jname = out_str(env, name);
    if (jid && jname) (*env)->CallVoidMethod(env, sink, g_sink_space, jid, jname);
    (*env)->DeleteLocalRef(env, jid);
    (*env)->DeleteLocalRef(env, jname);
  }
  if (rc != STEK_OK) throw_rc(env, s, rc);
}

/* The current space's id, or null if none is chosen. */
JNIEXPORT jbyteArray JNICALL FN(spaceCurrent)(JARGS, jlong h) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  uint8_t id[STEK_ID_BYTES];
  int rc = stek_space_current(s, id);
  if (rc == STEK_ENOSPACE) return NULL;
  if (rc != STEK_OK) {
    throw_rc(env, s, rc);
    return NULL;
  }
  return out_bytes(env, id, sizeof id);
}

JNIEXPORT void JNICALL FN(spaceUse)(JARGS, jlong h, jbyteArray jid) {
  (void)cls;
  stek *s = handle(env, h);
  uint8_t id[STEK_ID_BYTES];
  if (!s || arg_id(env, jid, id)) return;
  int rc = stek_space_use(s, id);
  if (rc != STEK_OK) throw_rc(env, s, rc);
}

/* stek_space_share() or stek_relay_share(): a share sealed to device jdev. */
static jbyteArray share_to(JNIEnv *env, jlong h, jbyteArray jdev,
                           int (*share)(stek *, const uint8_t *, uint8_t **, size_t *)) {
  stek *s = handle(env, h);
  if (!s) return NULL;
  uint8_t dev[STEK_DEVICE_ID_BYTES];
  if (!jdev || (*env)->GetArrayLength(env, jdev) != STEK_DEVICE_ID_BYTES) {
    throw_code(env, STEK_EINVAL, "a device id is 32 bytes (64 hex digits)");
    return NULL;
  }
  (*env)->GetByteArrayRegion(env, jdev, 0, STEK_DEVICE_ID_BYTES, (jbyte *)dev);
  uint8_t *out = NULL;
  size_t len = 0;
  int rc = share(s, dev, &out, &len);
  if (rc != STEK_OK) {
    throw_rc(env, s, rc);
    return NULL;
  }
  jbyteArray r = out_bytes(env, out, len);
  stek_free(out);
  return r;
}

JNIEXPORT jbyteArray JNICALL FN(spaceShare)(JARGS, jlong h, jbyteArray jdev) {
  (void)cls;
  return share_to(env, h, jdev, stek_space_share);
}

JNIEXPORT jbyteArray JNICALL FN(relayShare)(JARGS, jlong h, jbyteArray jdev) {
  (void)cls;
  return share_to(env, h, jdev, stek_relay_share);
}

JNIEXPORT void JNICALL FN(relayAccept)(JARGS, jlong h, jbyteArray jshare) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  size_t len;
  const char *p = arg_str(env, &a, jshare, &len);
  if (p) {
    int rc = stek_relay_accept(s, (const uint8_t *)p, len);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  } else if (!a.failed) {
    throw_code(env, STEK_EINVAL, "no relay capability given");
  }
  args_free(&a);
}

JNIEXPORT jlong JNICALL FN(relayCount)(JARGS, jlong h) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return 0;
  uint64_t n = 0;
  int rc = stek_relay_count(s, &n);
  if (rc != STEK_OK) throw_rc(env, s, rc);
  return (jlong)n;
}

/* The devices of the current space as 33-byte entries: key, revoked. */
typedef struct devlist {
  uint8_t *p;
  size_t n, cap;
} devlist;

static int dev_add(void *ctx, const uint8_t device[STEK_DEVICE_ID_BYTES], int revoked) {
  devlist *d = ctx;
  if (d->n + 33 > d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 33 * 8;
    uint8_t *p = realloc(d->p, cap);
    if (!p) return STEK_ENOMEM;
    d->p = p;
    d->cap = cap;
  }
  memcpy(d->p + d->n, device, STEK_DEVICE_ID_BYTES);
  d->p[d->n + 32] = revoked != 0;
  d->n += 33;
  return 0;
}

JNIEXPORT jbyteArray JNICALL FN(devices)(JARGS, jlong h) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  devlist d = {0};
  int rc = stek_device_list(s, dev_add, &d);
  jbyteArray r = rc ? NULL : out_bytes(env, d.p, d.n);
  if (rc) throw_rc(env, s, rc);
  free(d.p);
  return r;
}

JNIEXPORT void JNICALL FN(deviceRevoke)(JARGS, jlong h, jbyteArray jdev) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  uint8_t dev[STEK_DEVICE_ID_BYTES];
  if (!jdev || (*env)->GetArrayLength(env, jdev) != STEK_DEVICE_ID_BYTES) {
    throw_code(env, STEK_EINVAL, "a device id is 32 bytes (64 hex digits)");
    return;
  }
  (*env)->GetByteArrayRegion(env, jdev, 0, STEK_DEVICE_ID_BYTES, (jbyte *)dev);
  int rc = stek_device_revoke(s, dev);
  if (rc != STEK_OK) throw_rc(env, s, rc);
}

JNIEXPORT jint JNICALL FN(spaceAccept)(JARGS, jlong h, jbyteArray sealed) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return 0;
  args a = {0};
  size_t len;
  const char *p = arg_str(env, &a, sealed, &len);
  int rc = STEK_EINVAL;
  if (p) {
    rc = stek_space_accept(s, (const uint8_t *)p, len);
    if (rc < 0) throw_rc(env, s, rc);
  } else if (!a.failed) {
    throw_code(env, rc, "no sealed space given");
  }
  args_free(&a);
  return rc;
}

/* ---- Records ------------------------------------------------------------ */

JNIEXPORT void JNICALL FN(put)(JARGS, jlong h, jbyteArray jtype, jbyteArray jid,
                               jbyteArray jfield, jobject jval) {
  (void)cls;
  stek *s = handle(env, h);
  uint8_t id[STEK_ID_BYTES];
  if (!s || arg_id(env, jid, id)) return;
  args a = {0};
  stek_value v;
  const char *type = arg_str(env, &a, jtype, NULL);
  const char *field = arg_str(env, &a, jfield, NULL);
  if (type && field && arg_value(env, &a, jval, &v) == 0) {
    int rc = stek_put(s, type, id, field, jval ? &v : NULL);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
}

/* delete (0), restore (1) */
JNIEXPORT void JNICALL FN(deleteOrRestore)(JARGS, jlong h, jbyteArray jtype,
                                           jbyteArray jid, jboolean restore) {
  (void)cls;
  stek *s = handle(env, h);
  uint8_t id[STEK_ID_BYTES];
  if (!s || arg_id(env, jid, id)) return;
  args a = {0};
  const char *type = arg_str(env, &a, jtype, NULL);
  if (type) {
    int rc = restore ? stek_restore(s, type, id) : stek_delete(s, type, id);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
}

JNIEXPORT void JNICALL FN(setElement)(JARGS, jlong h, jbyteArray jtype, jbyteArray jid,
                                      jbyteArray jfield, jbyteArray jelem,
                                      jboolean add) {
  (void)cls;
  stek *s = handle(env, h);
  uint8_t id[STEK_ID_BYTES];
  if (!s || arg_id(env, jid, id)) return;
  args a = {0};
  const char *type = arg_str(env, &a, jtype, NULL);
  const char *field = arg_str(env, &a, jfield, NULL);
  const char *elem = arg_str(env, &a, jelem, NULL);
  if (type && field && elem) {
    int rc = add ? stek_set_add(s, type, id, field, elem)
                 : stek_set_remove(s, type, id, field, elem);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
}

/* 0 begin, 1 commit, 2 rollback */
JNIEXPORT void JNICALL FN(txn)(JARGS, jlong h, jint op) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  int rc = op == 0 ? stek_begin(s) : op == 1 ? stek_commit(s) : stek_rollback(s);
  if (rc != STEK_OK) throw_rc(env, s, rc);
}

/* Reports the record to sink; false if there is none. */
JNIEXPORT jboolean JNICALL FN(get)(JARGS, jlong h, jbyteArray jtype, jbyteArray jid,
                                   jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  uint8_t id[STEK_ID_BYTES];
  if (!s || arg_id(env, jid, id)) return JNI_FALSE;
  args a = {0};
  const char *type = arg_str(env, &a, jtype, NULL);
  jboolean found = JNI_FALSE;
  if (type) {
    stek_record *r = NULL;
    int rc = stek_get(s, type, id, &r);
    if (rc == STEK_OK) {
      emit_record(env, sink, r);
      found = JNI_TRUE;
    } else if (rc != STEK_ENOTFOUND) {
      throw_rc(env, s, rc);
    }
    stek_record_free(r);
  }
  args_free(&a);
  return found;
}

JNIEXPORT void JNICALL FN(list)(JARGS, jlong h, jbyteArray jtype, jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  const char *type = arg_str(env, &a, jtype, NULL);
  if (!a.failed) {
    call_ctx c = {env, sink};
    int rc = stek_list(s, type, record_cb, &c);
    if (rc < 0) throw_rc(env, s, rc);
  }
  args_free(&a);
}

JNIEXPORT jlong JNICALL FN(changeCount)(JARGS, jlong h) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return 0;
  uint64_t n = 0;
  int rc = stek_change_count(s, &n);
  if (rc != STEK_OK) throw_rc(env, s, rc);
  return (jlong)n;
}

JNIEXPORT jbyteArray JNICALL FN(stateHash)(JARGS, jlong h) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  uint8_t hash[STEK_HASH_BYTES];
  int rc = stek_state_hash(s, hash);
  if (rc != STEK_OK) {
    throw_rc(env, s, rc);
    return NULL;
  }
  return out_bytes(env, hash, sizeof hash);
}

/* ---- Typed records ------------------------------------------------------ */

/* kind 0: schedule, 1: directory */
JNIEXPORT void JNICALL FN(typedPut)(JARGS, jlong h, jint kind, jbyteArray jid,
                                    jobjectArray names, jobjectArray values) {
  (void)cls;
  stek *s = handle(env, h);
  uint8_t id[STEK_ID_BYTES];
  if (!s || arg_id(env, jid, id)) return;
  jsize n = (*env)->GetArrayLength(env, names);
  if (n > STEK_MAX_FIELDS) {
    throw_code(env, STEK_ETOOBIG, "too many fields");
    return;
  }
  stek_field *f = calloc((size_t)n + 1, sizeof *f);
  args *a = calloc((size_t)n + 1, sizeof *a); /* one arena per field */
  int ok = f && a;
  if (!ok) throw_code(env, STEK_ENOMEM, NULL);
  for (jsize i = 0; ok && i < n; i++) {
    jobject jn = (*env)->GetObjectArrayElement(env, names, i);
    jobject jv = (*env)->GetObjectArrayElement(env, values, i);
    f[i].name = arg_str(env, &a[i], (jbyteArray)jn, NULL);
    ok = f[i].name && arg_value(env, &a[i], jv, &f[i].value) == 0;
    (*env)->DeleteLocalRef(env, jn);
    (*env)->DeleteLocalRef(env, jv);
  }
  if (ok) {
    int rc = kind == 0 ? stek_schedule_put(s, id, f, (size_t)n)
                       : stek_directory_put(s, id, f, (size_t)n);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  } else if (!(*env)->ExceptionCheck(env)) {
    throw_code(env, STEK_EINVAL, "a field has no name");
  }
  for (jsize i = 0; a && i <= n; i++) args_free(&a[i]);
  free(a);
  free(f);
}

JNIEXPORT void JNICALL FN(scheduleCancel)(JARGS, jlong h, jbyteArray jid,
                                          jbyteArray jdate, jboolean cancel) {
  (void)cls;
  stek *s = handle(env, h);
  uint8_t id[STEK_ID_BYTES];
  if (!s || arg_id(env, jid, id)) return;
  args a = {0};
  const char *date = arg_str(env, &a, jdate, NULL);
  if (date) {
    int rc = stek_schedule_cancel(s, id, date, cancel ? 1 : 0);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
}

JNIEXPORT void JNICALL FN(scheduleOccurrences)(JARGS, jlong h, jbyteArray jfrom,
                                               jbyteArray jto, jbyteArray jsite,
                                               jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  const char *from = arg_str(env, &a, jfrom, NULL);
  const char *to = arg_str(env, &a, jto, NULL);
  const char *site = arg_str(env, &a, jsite, NULL);
  if (from && to && !a.failed) {
    call_ctx c = {env, sink};
    int rc = stek_schedule_occurrences(s, from, to, site, occurrence_cb, &c);
    if (rc < 0) throw_rc(env, s, rc);
  }
  args_free(&a);
}

JNIEXPORT jbyteArray JNICALL FN(scheduleIcs)(JARGS, jlong h, jbyteArray jsite) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  args a = {0};
  const char *site = arg_str(env, &a, jsite, NULL);
  jbyteArray r = NULL;
  if (!a.failed) {
    char *out = NULL;
    int rc = stek_schedule_ics(s, site, &out);
    if (rc != STEK_OK) throw_rc(env, s, rc);
    else r = out_str(env, out);
    stek_free(out);
  }
  args_free(&a);
  return r;
}

JNIEXPORT void JNICALL FN(directorySearch)(JARGS, jlong h, jbyteArray jq,
                                           jbyteArray jlang, jbyteArray jcat,
                                           jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  const char *q = arg_str(env, &a, jq, NULL);
  const char *lang = arg_str(env, &a, jlang, NULL);
  const char *cat = arg_str(env, &a, jcat, NULL);
  if (q && !a.failed) {
    call_ctx c = {env, sink};
    int rc = stek_directory_search(s, q, lang, cat, record_cb, &c);
    if (rc < 0) throw_rc(env, s, rc);
  }
  args_free(&a);
}

/* ---- Bundles ------------------------------------------------------------ */

JNIEXPORT jlong JNICALL FN(bundleExport)(JARGS, jlong h, jbyteArray jpath, jlong since) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return 0;
  args a = {0};
  const char *path = arg_str(env, &a, jpath, NULL);
  uint64_t count = 0;
  if (path) {
    int rc = stek_bundle_export(s, path, since, &count);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
  return (jlong)count;
}

JNIEXPORT jlongArray JNICALL FN(bundleImport)(JARGS, jlong h, jbyteArray jpath) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  args a = {0};
  const char *path = arg_str(env, &a, jpath, NULL);
  jlongArray r = NULL;
  if (path) {
    uint64_t ing = 0, dup = 0;
    int rc = stek_bundle_import(s, path, &ing, &dup);
    if (rc != STEK_OK) {
      throw_rc(env, s, rc);
    } else if ((r = (*env)->NewLongArray(env, 2)) != NULL) {
      jlong v[2] = {(jlong)ing, (jlong)dup};
      (*env)->SetLongArrayRegion(env, r, 0, 2, v);
    }
  }
  args_free(&a);
  return r;
}

/* ---- Signals ------------------------------------------------------------ */

JNIEXPORT jbyteArray JNICALL FN(signalRecord)(JARGS, jlong h, jbyteArray jtheme,
                                              jbyteArray jsite, jbyteArray jtext) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  args a = {0};
  const char *theme = arg_str(env, &a, jtheme, NULL);
  const char *site = arg_str(env, &a, jsite, NULL);
  const char *text = arg_str(env, &a, jtext, NULL);
  jbyteArray r = NULL;
  if (theme && site && !a.failed) {
    char receipt[STEK_RECEIPT_BYTES];
    int rc = stek_signal_record(s, theme, site, text ? text : "", receipt);
    if (rc != STEK_OK) throw_rc(env, s, rc);
    else r = out_str(env, receipt);
  }
  args_free(&a);
  return r;
}

/* true if withdrawn, false if no live signal has the receipt. */
JNIEXPORT jboolean JNICALL FN(signalWithdraw)(JARGS, jlong h, jbyteArray jreceipt) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return JNI_FALSE;
  args a = {0};
  const char *receipt = arg_str(env, &a, jreceipt, NULL);
  jboolean done = JNI_FALSE;
  if (receipt) {
    int rc = stek_signal_withdraw(s, receipt);
    if (rc == STEK_OK) done = JNI_TRUE;
    else if (rc != STEK_ENOTFOUND) throw_rc(env, s, rc);
  }
  args_free(&a);
  return done;
}

JNIEXPORT void JNICALL FN(signalList)(JARGS, jlong h, jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  call_ctx c = {env, sink};
  int rc = stek_signal_list(s, signal_cb, &c);
  if (rc < 0) throw_rc(env, s, rc);
}

JNIEXPORT jbyteArray JNICALL FN(signalReport)(JARGS, jlong h, jint k, jint format) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  char *out = NULL;
  int rc = stek_signal_report(s, k, format, &out);
  jbyteArray r = NULL;
  if (rc != STEK_OK) throw_rc(env, s, rc);
  else r = out_str(env, out);
  stek_free(out);
  return r;
}

/* ---- Sync, invitations, discovery --------------------------------------- */

JNIEXPORT jlong JNICALL FN(cancelNew)(JARGS) {
  (void)cls;
  stek_cancel *c = NULL;
  int rc = stek_cancel_new(&c);
  if (rc != STEK_OK) throw_code(env, rc, NULL);
  return (jlong)(intptr_t)c;
}

JNIEXPORT void JNICALL FN(cancelTrigger)(JARGS, jlong c) {
  (void)env;
  (void)cls;
  if (c) stek_cancel_trigger((stek_cancel *)(intptr_t)c);
}

JNIEXPORT void JNICALL FN(cancelFree)(JARGS, jlong c) {
  (void)env;
  (void)cls;
  stek_cancel_free((stek_cancel *)(intptr_t)c);
}

/* timeout_ms, session_ms 0: libstek's defaults; a negative session_ms is
 * passed on, for stek_sync() to refuse (EINVAL). */
static void sync_options(stek_sync_options *o, jint timeout_ms, jlong session_ms,
                         jboolean relay, jlong cancel, call_ctx *c) {
  stek_sync_options_init(o);
  if (timeout_ms > 0) o->timeout_ms = timeout_ms;
  if (session_ms != 0) o->session_ms = session_ms;
  o->relay = relay ? 1 : 0;
  o->cancel = (stek_cancel *)(intptr_t)cancel;
  if (c->sink) {
    o->progress = progress_cb;
    o->progress_ctx = c;
  }
}

/* Blocks; the stats go to sink.progress() once more at the end. */
JNIEXPORT void JNICALL FN(sync)(JARGS, jlong h, jbyteArray jhost, jint port,
                                jint timeout_ms, jlong session_ms, jboolean relay,
                                jlong cancel, jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  const char *host = arg_str(env, &a, jhost, NULL);
  if (host) {
    call_ctx c = {env, sink};
    stek_sync_options o;
    stek_sync_stats st;
    memset(&st, 0, sizeof st);
    sync_options(&o, timeout_ms, session_ms, relay, cancel, &c);
    int rc = stek_sync(s, host, port, &o, &st);
    if (sink) progress_cb(&c, &st);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
}

JNIEXPORT void JNICALL FN(inviteAccept)(JARGS, jlong h, jbyteArray jtoken,
                                        jbyteArray jhost, jint port, jint timeout_ms,
                                        jlong cancel) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  const char *token = arg_str(env, &a, jtoken, NULL);
  const char *host = arg_str(env, &a, jhost, NULL);
  if (token && host) {
    call_ctx c = {env, NULL};
    stek_sync_options o;
    sync_options(&o, timeout_ms, 0, JNI_FALSE, cancel, &c);
    int rc = stek_invite_accept(s, token, host, port, &o);
    if (rc != STEK_OK) throw_rc(env, s, rc);
  }
  args_free(&a);
}

JNIEXPORT jbyteArray JNICALL FN(inviteCreate)(JARGS, jlong h, jlong ttl_ms) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  char token[STEK_INVITE_BYTES];
  int rc = stek_invite_create(s, ttl_ms, token);
  if (rc != STEK_OK) {
    throw_rc(env, s, rc);
    return NULL;
  }
  return out_str(env, token);
}

/* ---- Pairing ------------------------------------------------------------ */

JNIEXPORT void JNICALL FN(pairOffer)(JARGS, jlong h, jlong ttl_ms) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  int rc = stek_pair_offer(s, ttl_ms);
  if (rc != STEK_OK) throw_rc(env, s, rc);
}

/* Ask sink.pairConfirm() with the six digits, on env's thread. */
static int confirm_with(JNIEnv *env, jobject sink, const char sas[7]) {
  if ((*env)->ExceptionCheck(env) || (*env)->PushLocalFrame(env, 2) < 0) return 0;
  jboolean yes = (*env)->CallBooleanMethod(env, sink, g_sink_pair_confirm, out_str(env, sas));
  (*env)->PopLocalFrame(env, NULL);
  return !(*env)->ExceptionCheck(env) && yes;
}

static int join_confirm_cb(void *ctx, const char sas[7]) {
  call_ctx *c = ctx;
  return confirm_with(c->env, c->sink, sas);
}

/* Blocks; sink.pairConfirm() is asked on this thread.  Returns the id of
 * the space joined. */
JNIEXPORT jbyteArray JNICALL FN(pairJoin)(JARGS, jlong h, jbyteArray jhost, jint port,
                                          jint timeout_ms, jlong cancel, jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return NULL;
  args a = {0};
  const char *host = arg_str(env, &a, jhost, NULL);
  jbyteArray r = NULL;
  if (host) {
    call_ctx c = {env, sink};
    call_ctx none = {env, NULL};
    stek_sync_options o;
    uint8_t space[STEK_ID_BYTES];
    sync_options(&o, timeout_ms, 0, JNI_FALSE, cancel, &none);
    int rc = stek_pair_join(s, host, port, join_confirm_cb, &c, &o, space);
    if (rc != STEK_OK) throw_rc(env, s, rc);
    else r = out_bytes(env, space, sizeof space);
  }
  args_free(&a);
  return r;
}

JNIEXPORT void JNICALL FN(discover)(JARGS, jlong h, jlong timeout_ms,
                                    jbyteArray jaddress, jint port, jobject sink) {
  (void)cls;
  stek *s = handle(env, h);
  if (!s) return;
  args a = {0};
  const char *address = arg_str(env, &a, jaddress, NULL);
  if (!a.failed) {
    stek_discover_options o;
    stek_discover_options_init(&o);
    if (timeout_ms > 0) o.timeout_ms = timeout_ms;
    o.address = address;
    if (port > 0) o.port = (uint16_t)port;
    call_ctx c = {env, sink};
    int rc = stek_discover(s, &o, peer_cb, &c);
    if (rc < 0) throw_rc(env, s, rc);
  }
  args_free(&a);
}

/* ---- Announcer ---------------------------------------------------------- */

JNIEXPORT jlong JNICALL FN(announcerStart)(JARGS, jbyteArray jpath, jobject opts,
                                           jint serve_port, jlong period_ms,
                                           jbyteArray jaddress, jint port) {
  (void)cls;
  args a = {0};
  stek_config cfg;
  const char *path = arg_str(env, &a, jpath, NULL);
  const char *address = arg_str(env, &a, jaddress, NULL);
  jlong result = 0;
  if (serve_port < 0 || serve_port > 65535 || port < 0 || port > 65535) {
    throw_code(env, STEK_EINVAL, "a port is 0 to 65535");
  } else if (path && arg_config(env, &a, &cfg, opts) == 0) {
    stek_announce_options o;
    stek_announce_options_init(&o);
    o.serve_port = (uint16_t)serve_port;
    o.period_ms = period_ms;
    o.address = address;
    o.port = (uint16_t)port;
    stek_announcer *an = NULL;
    int rc = stek_announcer_start(&an, path, &cfg, &o);
    if (rc != STEK_OK) {
      throw_code(env, rc, an ? stek_announcer_errmsg(an) : NULL);
      stek_announcer_stop(an);
    } else {
      result = (jlong)(intptr_t)an;
    }
  }
  args_free(&a);
  return result;
}

JNIEXPORT void JNICALL FN(announcerStop)(JARGS, jlong an) {
  (void)env;
  (void)cls;
  stek_announcer_stop((stek_announcer *)(intptr_t)an);
}

/* ---- Server ------------------------------------------------------------- */

/* A server as Java holds it (Server.srv): the stek server and the Sink its
 * callbacks report to (a global reference, or NULL), freed together by
 * serverStop after the server's thread has been joined. */
typedef struct jserver {
  stek_server *srv;
  jobject sink;
} jserver;

/* The env of the server's thread, a native one: attached to the VM for the
 * length of one callback (as a daemon, named, so that a thread dump says
 * whose it is), then detached again.  NULL if the VM refuses (shutting
 * down): the callback is then skipped. */
static JNIEnv *attach_server_thread(int *attached) {
  JNIEnv *env = NULL;
  *attached = 0;
  jint r = (*g_vm)->GetEnv(g_vm, (void **)&env, JNI_VERSION_1_6);
  if (r == JNI_OK) return env;
  if (r != JNI_EDETACHED) return NULL;
  JavaVMAttachArgs aa = {JNI_VERSION_1_6, (char *)"stek-server", NULL};
  if ((*g_vm)->AttachCurrentThreadAsDaemon(g_vm, (void **)&env, &aa) != JNI_OK) return NULL;
  *attached = 1;
  return env;
}

static void detach_server_thread(JNIEnv *env, int attached) {
  if ((*env)->ExceptionCheck(env)) (*env)->ExceptionClear(env); /* the Sink throws none */
  if (attached) (*g_vm)->DetachCurrentThread(g_vm);
}

static void session_end_cb(void *ctx, int rc, const char *msg) {
  jserver *js = ctx;
  int attached;
  JNIEnv *env = attach_server_thread(&attached);
  if (!env) return;
  if ((*env)->PushLocalFrame(env, 4) == 0) {
    (*env)->CallVoidMethod(env, js->sink, g_sink_session_end, (jint)rc, out_str(env, msg));
    (*env)->PopLocalFrame(env, NULL);
  }
  detach_server_thread(env, attached);
}

/* The server's pair_confirm: asks the sink on the server's thread; a VM
 * that cannot be reached refuses. */
static int server_confirm_cb(void *ctx, const char sas[7]) {
  jserver *js = ctx;
  int attached;
  JNIEnv *env = attach_server_thread(&attached);
  if (!env) return 0;
  int yes = confirm_with(env, js->sink, sas);
  detach_server_thread(env, attached);
  return yes;
}

/* max_peers, idle_ms, session_ms: stek_server_options (Server.Options
 * starts from stek.h's defaults); sink (may be null) hears sessionEnd and,
 * if pair, is asked pairConfirm -- both on the server's thread. */
JNIEXPORT jlong JNICALL FN(serverStart)(JARGS, jbyteArray jpath, jobject opts,
                                        jbyteArray jbind, jint port, jint max_peers,
                                        jlong idle_ms, jlong session_ms, jobject sink,
                                        jboolean pair) {
  (void)cls;
  args a = {0};
  stek_config cfg;
  const char *path = arg_str(env, &a, jpath, NULL);
  const char *bind_addr = arg_str(env, &a, jbind, NULL);
  jlong result = 0;
  jserver *js = NULL;
  if (path && arg_config(env, &a, &cfg, opts) == 0) {
    js = calloc(1, sizeof *js);
    if (!js) throw_code(env, STEK_ENOMEM, NULL);
  }
  if (js && sink && !(js->sink = (*env)->NewGlobalRef(env, sink))) {
    throw_code(env, STEK_ENOMEM, NULL);
    free(js);
    js = NULL;
  }
  if (js) {
    stek_server_options o;
    stek_server_options_init(&o);
    o.max_peers = max_peers;
    o.idle_ms = idle_ms;
    o.session_ms = session_ms;
    if (js->sink) {
      o.on_session_end = session_end_cb;
      o.on_session_end_ctx = js;
      if (pair) {
        cfg.pair_confirm = server_confirm_cb;
        cfg.pair_confirm_ctx = js;
      }
    }
    int rc = stek_server_start(&js->srv, path, &cfg, bind_addr, port, &o);
    if (rc != STEK_OK) {
      throw_code(env, rc, js->srv ? stek_server_errmsg(js->srv) : NULL);
      stek_server_stop(js->srv);
      if (js->sink) (*env)->DeleteGlobalRef(env, js->sink);
      free(js);
    } else {
      result = (jlong)(intptr_t)js;
    }
  }
  args_free(&a);
  return result;
}

JNIEXPORT jint JNICALL FN(serverPort)(JARGS, jlong srv) {
  (void)env;
  (void)cls;
  return stek_server_port(((const jserver *)(intptr_t)srv)->srv);
}

JNIEXPORT jlongArray JNICALL FN(serverCounts)(JARGS, jlong srv) {
  (void)cls;
  uint64_t done = 0, failed = 0;
  stek_server_counts(((const jserver *)(intptr_t)srv)->srv, &done, &failed);
  jlongArray r = (*env)->NewLongArray(env, 2);
  if (r) {
    jlong v[2] = {(jlong)done, (jlong)failed};
    (*env)->SetLongArrayRegion(env, r, 0, 2, v);
  }
  return r;
}

/* Stop (joining the server's thread, so no callback runs after), then let
 * go of the sink. */
JNIEXPORT void JNICALL FN(serverStop)(JARGS, jlong srv) {
  (void)cls;
  jserver *js = (jserver *)(intptr_t)srv;
  if (!js) return;
  stek_server_stop(js->srv);
  if (js->sink) (*env)->DeleteGlobalRef(env, js->sink);
  free(js);
}

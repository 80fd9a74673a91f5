/* A C plugin that streams audio chunks as fast as the host takes them, for
 * measuring the ABI bridge (bench/VoxBench). Request: {"chunks":N,"bytes":B}.
 * Honours VOX_FLOW_PAUSE with a resume counter, and cancel. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "vox_plugin.h"

static const vox_host_api *host;
static const char caps[] = "{\"operations\":{\"tts.synthesize\":{\"stream\":true,\"formats\":[\"pcm_s16le\"]}}}";

struct vox_plugin_instance { vox_host_plugin *hp; };
struct vox_plugin_op {
    vox_host_op *hop;
    long chunks, bytes;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    long resumes;
    int cancelled;
};

static long field(const char *json, size_t len, const char *name, long dflt) {
    char buf[256];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, json, n);
    buf[n] = 0;
    const char *p = strstr(buf, name);
    if (!p || !(p = strchr(p, ':'))) return dflt;
    return strtol(p + 1, NULL, 10);
}

static void *worker(void *arg) {
    struct vox_plugin_op *op = arg;
    uint8_t *chunk = calloc(1, (size_t)op->bytes);
    vox_type_audio_format f = {sizeof f, VOX_AUDIO_PCM_S16LE, 16000, 1};
    long seen = 0;
    for (long i = 0; i < op->chunks; i++) {
        int32_t flow = host->op_audio(op->hop, &f, chunk, (size_t)op->bytes);
        if (flow == VOX_FLOW_PAUSE) {
            pthread_mutex_lock(&op->lock);
            while (op->resumes == seen && !op->cancelled) pthread_cond_wait(&op->cond, &op->lock);
            seen = op->resumes;
            pthread_mutex_unlock(&op->lock);
        }
        pthread_mutex_lock(&op->lock);
        int stop = op->cancelled || flow == VOX_FLOW_STOP;
        pthread_mutex_unlock(&op->lock);
        if (stop) {
            vox_type_error e = {0};
            vox_error_set(&e, VOX_ERR_CANCELLED, 0, 0, -1, "cancelled");
            host->op_error(op->hop, &e);
            free(chunk);
            return NULL;
        }
    }
    free(chunk);
    host->op_done(op->hop, vox_str("{}"));
    return NULL;
}

static int32_t create(vox_host_plugin *hp, vox_type_str s, vox_plugin_instance **out, vox_type_error *e) {
    (void)s; (void)e;
    *out = calloc(1, sizeof **out);
    (*out)->hp = hp;
    return VOX_OK;
}
static void destroy(vox_plugin_instance *i) { free(i); }
static vox_type_str capabilities(vox_plugin_instance *i) { (void)i; vox_type_str r = {caps, sizeof caps - 1}; return r; }
static int32_t op_start(vox_plugin_instance *i, const vox_type_op_request *r, vox_host_op *hop, vox_plugin_op **out, vox_type_error *e) {
    (void)i;
    if (r->kind != VOX_OP_TTS_SYNTHESIZE) { vox_error_set(e, VOX_ERR_UNSUPPORTED, 0, 0, -1, "tts only"); return VOX_ERR_UNSUPPORTED; }
    struct vox_plugin_op *op = calloc(1, sizeof *op);
    op->hop = hop;
    op->chunks = field(r->request_json.ptr, r->request_json.len, "\"chunks\"", 1000);
    op->bytes = field(r->request_json.ptr, r->request_json.len, "\"bytes\"", 640);
    pthread_mutex_init(&op->lock, NULL);
    pthread_cond_init(&op->cond, NULL);
    pthread_create(&op->thread, NULL, worker, op);
    *out = op;
    return VOX_OK;
}
static void op_cancel(vox_plugin_op *op) { pthread_mutex_lock(&op->lock); op->cancelled = 1; pthread_cond_broadcast(&op->cond); pthread_mutex_unlock(&op->lock); }
static void op_resume(vox_plugin_op *op) { pthread_mutex_lock(&op->lock); op->resumes++; pthread_cond_broadcast(&op->cond); pthread_mutex_unlock(&op->lock); }
static void op_release(vox_plugin_op *op) { pthread_join(op->thread, NULL); pthread_mutex_destroy(&op->lock); pthread_cond_destroy(&op->cond); free(op); }

static const vox_plugin_vtable vtable = {
    sizeof(vox_plugin_vtable), create, destroy, capabilities, op_start, op_cancel, op_release, op_resume, NULL, NULL,
};
static const vox_plugin_descriptor descriptor = {
    sizeof(vox_plugin_descriptor), VOX_ABI_MAJOR, VOX_ABI_MINOR, "bench_plugin", "1.0.0", "voxd bench", "chunk pump", NULL, &vtable,
};

VOX_EXPORT const vox_plugin_descriptor *vox_plugin_entry(uint32_t major, uint32_t minor, const vox_host_api *h, vox_type_error *e) {
    (void)minor;
    if (major != VOX_ABI_MAJOR) { vox_error_set(e, VOX_ERR_UNSUPPORTED, 0, 0, -1, "ABI major mismatch"); return NULL; }
    host = h;
    return &descriptor;
}

/* Breaks: each synthesis sends 100 ms of audio and op_done, then a second op_done and more op_audio after it.
 * Host must: keep the first op_done as the result, ignore the extra op_done and op_audio, and log the misbehaviour. */
#define _POSIX_C_SOURCE 200809L
#include "fixture_common.h"

#include <pthread.h>

struct vox_plugin_op {
    int unused; /* the worker needs only the host's handle */
};

static void *worker(void *arg) {
    static const uint8_t silence[3200]; /* 100 ms of 16 kHz mono pcm_s16le */
    vox_host_op *op = arg;
    vox_type_audio_format format = {sizeof format, VOX_AUDIO_PCM_S16LE, 16000, 1};
    fx_host->op_audio(op, &format, silence, sizeof silence);
    fx_host->op_done(op, vox_str("{\"usage\":{\"characters\":1,\"audio_seconds\":0.1}}"));
    /* The misbehaviour: a second final call, then data after the final. */
    fx_host->op_done(op, vox_str("{}"));
    fx_host->op_audio(op, &format, silence, sizeof silence);
    return NULL;
}

static int32_t op_start(vox_plugin_instance *inst, const vox_type_op_request *request, vox_host_op *host_op,
                        vox_plugin_op **out, vox_type_error *error) {
    vox_plugin_op *op;
    pthread_t thread;
    (void)inst;
    if (request->kind != VOX_OP_TTS_SYNTHESIZE) return fx_op_start_unsupported(inst, request, host_op, out, error);
    if (!(op = calloc(1, sizeof *op))) {
        vox_error_set(error, VOX_ERR_INTERNAL, 0, 0, -1, "fixture: out of memory");
        return VOX_ERR_INTERNAL;
    }
    if (pthread_create(&thread, NULL, worker, host_op) != 0) {
        free(op);
        vox_error_set(error, VOX_ERR_UNAVAILABLE, 0, 0, -1, "fixture: no thread");
        return VOX_ERR_UNAVAILABLE;
    }
    pthread_detach(thread);
    *out = op;
    return VOX_OK;
}

static void op_release(vox_plugin_op *op) { free(op); }

FX_VTABLE(vtable, fx_create, fx_capabilities, op_start, fx_op_nothing, op_release, NULL);
FX_GOOD_DESCRIPTOR(descriptor, "callback_twice", vtable);
FX_ENTRY(&descriptor)

/* Breaks nothing: a well-behaved tts plugin that sends 10 ms of silence every 10 ms, for a test-chosen time.
 * Host must: drain it on shutdown, and on cancel get op_error(CANCELLED) within about one 10 ms tick. */
#define _POSIX_C_SOURCE 200809L
#include "fixture_common.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RATE 16000
#define TICK_NS 10000000L /* 10 ms */

struct vox_plugin_op {
    vox_host_op *host_op;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* CLOCK_MONOTONIC; signalled by op_cancel and op_resume */
    bool cancelled;
    unsigned long resumes;
    long ticks;      /* 10 ms chunks to send */
    long characters; /* of "input", for usage */
};

/* How long to stream: options.seconds if the request has it, else one second
 * per character of "input". A naive scan is enough for test requests. */
static long request_ticks(vox_type_str json, long *characters) {
    char *text = malloc(json.len + 1), *p;
    double seconds = -1;
    *characters = 0;
    if (!text) return 0;
    if (json.len) memcpy(text, json.ptr, json.len);
    text[json.len] = '\0';
    if ((p = strstr(text, "\"input\"")) && (p = strchr(p + 7, '"'))) {
        for (p++; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1]) { /* an escape is one character */
                int hex = *++p == 'u' ? 4 : 0;
                while (hex-- > 0 && p[1]) p++;
            }
            if (((unsigned char)*p & 0xC0) != 0x80) (*characters)++;
        }
    }
    if ((p = strstr(text, "\"seconds\"")) && (p = strchr(p, ':'))) seconds = strtod(p + 1, NULL);
    free(text);
    if (seconds < 0) seconds = (double)*characters;
    return (long)(seconds * 100 + 0.5);
}

static void add_ns(struct timespec *t, long ns) {
    t->tv_nsec += ns;
    while (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}

static void *worker(void *arg) {
    static const uint8_t silence[RATE / 100 * 2];
    vox_plugin_op *op = arg;
    vox_host_op *host_op = op->host_op;
    vox_type_audio_format format = {sizeof format, VOX_AUDIO_PCM_S16LE, RATE, 1};
    struct timespec next;
    bool stopped = false, cancelled;
    long sent = 0, ticks = op->ticks, characters = op->characters;
    char result[128];

    clock_gettime(CLOCK_MONOTONIC, &next);
    pthread_mutex_lock(&op->lock);
    while (!op->cancelled && sent < ticks) {
        unsigned long ticket = op->resumes;
        int32_t flow;
        pthread_mutex_unlock(&op->lock);
        flow = fx_host->op_audio(host_op, &format, silence, sizeof silence);
        sent++;
        pthread_mutex_lock(&op->lock);
        if (flow == VOX_FLOW_STOP) {
            stopped = true;
            break;
        }
        if (flow == VOX_FLOW_PAUSE) {
            while (!op->cancelled && op->resumes == ticket) pthread_cond_wait(&op->wake, &op->lock);
        }
        /* Sleep until the end of this chunk's 10 ms; op_cancel wakes us at once. */
        add_ns(&next, TICK_NS);
        while (!op->cancelled && pthread_cond_timedwait(&op->wake, &op->lock, &next) != ETIMEDOUT) {
        }
    }
    cancelled = op->cancelled;
    pthread_mutex_unlock(&op->lock);

    if (cancelled || stopped) {
        vox_type_error error = {0};
        vox_error_set(&error, VOX_ERR_CANCELLED, 0, 0, -1, cancelled ? "cancelled" : "stopped by the host");
        fx_host->op_error(host_op, &error); /* final: op is not touched again */
        return NULL;
    }
    snprintf(result, sizeof result, "{\"usage\":{\"characters\":%ld,\"audio_seconds\":%ld.%02ld}}", characters,
             sent / 100, sent % 100);
    fx_host->op_done(host_op, vox_str(result)); /* final: op is not touched again */
    return NULL;
}

static void op_free(vox_plugin_op *op) {
    pthread_cond_destroy(&op->wake);
    pthread_mutex_destroy(&op->lock);
    free(op);
}

static int32_t op_start(vox_plugin_instance *inst, const vox_type_op_request *request, vox_host_op *host_op,
                        vox_plugin_op **out, vox_type_error *error) {
    vox_plugin_op *op;
    pthread_condattr_t attr;
    if (request->kind != VOX_OP_TTS_SYNTHESIZE) return fx_op_start_unsupported(inst, request, host_op, out, error);
    if (!(op = calloc(1, sizeof *op))) {
        vox_error_set(error, VOX_ERR_INTERNAL, 0, 0, -1, "fixture: out of memory");
        return VOX_ERR_INTERNAL;
    }
    op->host_op = host_op;
    op->ticks = request_ticks(request->request_json, &op->characters);
    pthread_mutex_init(&op->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&op->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&op->thread, NULL, worker, op) != 0) {
        op_free(op);
        vox_error_set(error, VOX_ERR_UNAVAILABLE, 0, 0, -1, "fixture: no thread");
        return VOX_ERR_UNAVAILABLE;
    }
    *out = op;
    return VOX_OK;
}

static void op_cancel(vox_plugin_op *op) {
    pthread_mutex_lock(&op->lock);
    op->cancelled = true;
    pthread_cond_broadcast(&op->wake);
    pthread_mutex_unlock(&op->lock);
}

static void op_resume(vox_plugin_op *op) {
    pthread_mutex_lock(&op->lock);
    op->resumes++;
    pthread_cond_broadcast(&op->wake);
    pthread_mutex_unlock(&op->lock);
}

static void op_release(vox_plugin_op *op) {
    /* The final call was the worker's last act; if the host releases from
     * inside it (on the worker), detach instead of joining ourselves. */
    if (pthread_equal(op->thread, pthread_self())) pthread_detach(op->thread);
    else pthread_join(op->thread, NULL);
    op_free(op);
}

FX_VTABLE(vtable, fx_create, fx_capabilities, op_start, op_cancel, op_release, op_resume);
FX_GOOD_DESCRIPTOR(descriptor, "slow_plugin", vtable);
FX_ENTRY(&descriptor)

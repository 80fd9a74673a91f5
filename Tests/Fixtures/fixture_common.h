/*
 * fixture_common.h — shared boilerplate for the loader's broken-plugin
 * fixtures (the .c files in Tests/Fixtures). Each fixture is a shared object
 * that breaks exactly one rule of vox_plugin.h; what it takes from here is
 * correct.
 *
 * Build one (from the repository root):
 *   cc -shared -fPIC -I PluginSDK/CVoxPlugin/include Tests/Fixtures/X.c -o X.so
 */
#ifndef FIXTURE_COMMON_H
#define FIXTURE_COMMON_H

#include "vox_plugin.h"

#include <stdlib.h>

/* Capabilities of a minimal TTS provider (PluginSDK/SCHEMAS.md). */
#define FX_TTS_CAPABILITIES                                                                                   \
    "{\"operations\":{\"tts.synthesize\":{\"stream\":true,\"formats\":[\"pcm_s16le\"],\"sample_rates\":[16000]}}," \
    "\"models\":[{\"id\":\"fixture\",\"operations\":[\"tts.synthesize\"],\"languages\":[\"en\"]}],"             \
    "\"default_model\":\"fixture\",\"languages\":[\"en\"],"                                                      \
    "\"prices\":[{\"operation\":\"tts.synthesize\",\"model\":\"*\",\"unit\":\"character\",\"usd_per_unit\":0,"  \
    "\"source\":\"fixture\"}]}"

/* The host's services table, kept by the entry point (FX_ENTRY). */
static const vox_host_api *fx_host;

struct vox_plugin_instance {
    vox_host_plugin *hp;
};

static inline int32_t fx_create(vox_host_plugin *hp, vox_type_str settings, vox_plugin_instance **out,
                                vox_type_error *error) {
    vox_plugin_instance *inst = calloc(1, sizeof *inst);
    (void)settings;
    if (!inst) {
        vox_error_set(error, VOX_ERR_INTERNAL, 0, 0, -1, "fixture: out of memory");
        return VOX_ERR_INTERNAL;
    }
    inst->hp = hp;
    *out = inst;
    return VOX_OK;
}

static inline void fx_destroy(vox_plugin_instance *inst) { free(inst); }

static inline vox_type_str fx_capabilities(vox_plugin_instance *inst) {
    (void)inst;
    return vox_str(FX_TTS_CAPABILITIES);
}

/* For fixtures that are never meant to run an operation. */
static inline int32_t fx_op_start_unsupported(vox_plugin_instance *inst, const vox_type_op_request *request,
                                              vox_host_op *op, vox_plugin_op **out, vox_type_error *error) {
    (void)inst; (void)request; (void)op; (void)out;
    vox_error_set(error, VOX_ERR_UNSUPPORTED, 0, 0, -1, "fixture: no operations");
    return VOX_ERR_UNSUPPORTED;
}

static inline void fx_op_nothing(vox_plugin_op *op) { (void)op; }

/* A vtable VAR: create, destroy (fx_destroy), capabilities, op_start,
 * op_cancel, op_release, op_resume; no op_push / op_finish_input. */
#define FX_VTABLE(VAR, CREATE, CAPABILITIES, OP_START, OP_CANCEL, OP_RELEASE, OP_RESUME)                  \
    static const vox_plugin_vtable VAR = {sizeof(vox_plugin_vtable), CREATE, fx_destroy, CAPABILITIES, \
                                          OP_START, OP_CANCEL, OP_RELEASE, OP_RESUME, NULL, NULL}

/* The vtable of a plugin that loads and creates fine but runs nothing. */
#define FX_INERT_VTABLE(VAR) \
    FX_VTABLE(VAR, fx_create, fx_capabilities, fx_op_start_unsupported, fx_op_nothing, fx_op_nothing, NULL)

/* A descriptor VAR with the given struct_size, ABI version and name. */
#define FX_DESCRIPTOR(VAR, SIZE, MAJOR, MINOR, NAME, VTABLE)                                          \
    static const vox_plugin_descriptor VAR = {(SIZE), (MAJOR), (MINOR), (NAME), "0.0.1", "voxd tests", \
                                              "loader test fixture", NULL, &(VTABLE)}

/* A well-formed descriptor VAR. */
#define FX_GOOD_DESCRIPTOR(VAR, NAME, VTABLE) \
    FX_DESCRIPTOR(VAR, sizeof(vox_plugin_descriptor), VOX_ABI_MAJOR, VOX_ABI_MINOR, NAME, VTABLE)

/* The entry point: keeps the host table and returns DESCRIPTOR (a pointer). */
#define FX_ENTRY(DESCRIPTOR)                                                                      \
    VOX_EXPORT const vox_plugin_descriptor *vox_plugin_entry(uint32_t host_abi_major,             \
                                                             uint32_t host_abi_minor,             \
                                                             const vox_host_api *host,            \
                                                             vox_type_error *error) {             \
        (void)host_abi_major; (void)host_abi_minor; (void)error;                                  \
        fx_host = host;                                                                           \
        return (DESCRIPTOR);                                                                      \
    }

#endif /* FIXTURE_COMMON_H */

/* A chat provider that only declares itself, for timing the router's
 * decisions (bench/VoxBench/RouterBench.swift). The loader requires a
 * library's descriptor name to match its plugins.d file name
 * (Host/VoxHost/Loader/PluginImage.swift, validate), so one .so cannot be
 * registered under several names: the bench compiles this file once per
 * name, -DROUTE_NAME="route07" -DROUTE_RANK=7. Its capabilities are shaped
 * like a remote LLM provider's: six chat models (one, "bench-chat", shared
 * by all), languages, token prices that grow with the rank. The explain path
 * calls no provider, so op_start refuses every operation. */
#include <stdio.h>
#include <stdlib.h>
#include "vox_plugin.h"

#ifndef ROUTE_NAME
#define ROUTE_NAME "route01"
#endif
#ifndef ROUTE_RANK
#define ROUTE_RANK 1
#endif

static char caps[2048];
static int caps_len;

struct vox_plugin_instance { vox_host_plugin *hp; };
struct vox_plugin_op { int unused; };

static int32_t create(vox_host_plugin *hp, vox_type_str s, vox_plugin_instance **out, vox_type_error *e) {
    (void)s; (void)e;
    *out = calloc(1, sizeof **out);
    (*out)->hp = hp;
    return VOX_OK;
}
static void destroy(vox_plugin_instance *i) { free(i); }
static vox_type_str capabilities(vox_plugin_instance *i) { (void)i; vox_type_str r = {caps, (size_t)caps_len}; return r; }
static int32_t op_start(vox_plugin_instance *i, const vox_type_op_request *r, vox_host_op *hop, vox_plugin_op **out, vox_type_error *e) {
    (void)i; (void)r; (void)hop; (void)out;
    vox_error_set(e, VOX_ERR_UNSUPPORTED, 0, 0, -1, ROUTE_NAME " only declares capabilities (router benchmark)");
    return VOX_ERR_UNSUPPORTED;
}
static void op_cancel(vox_plugin_op *op) { (void)op; }
static void op_release(vox_plugin_op *op) { (void)op; }
static void op_resume(vox_plugin_op *op) { (void)op; }

static const vox_plugin_vtable vtable = {
    sizeof(vox_plugin_vtable), create, destroy, capabilities, op_start, op_cancel, op_release, op_resume, NULL, NULL,
};
static const vox_plugin_descriptor descriptor = {
    sizeof(vox_plugin_descriptor), VOX_ABI_MAJOR, VOX_ABI_MINOR, ROUTE_NAME, "1.0.0", "voxd bench", "router benchmark provider", NULL, &vtable,
};

VOX_EXPORT const vox_plugin_descriptor *vox_plugin_entry(uint32_t major, uint32_t minor, const vox_host_api *h, vox_type_error *e) {
    (void)minor; (void)h;
    if (major != VOX_ABI_MAJOR) { vox_error_set(e, VOX_ERR_UNSUPPORTED, 0, 0, -1, "ABI major mismatch"); return NULL; }
    double in = 0.15e-6 * ROUTE_RANK, out = 0.6e-6 * ROUTE_RANK;
    caps_len = snprintf(caps, sizeof caps,
        "{\"operations\":{\"llm.chat\":{\"stream\":true,\"tools\":true}},"
        "\"models\":["
        "{\"id\":\"bench-chat\",\"operations\":[\"llm.chat\"],\"languages\":[\"en\",\"de\",\"fr\",\"es\",\"hi\"]},"
        "{\"id\":\"" ROUTE_NAME "-large\",\"operations\":[\"llm.chat\"]},"
        "{\"id\":\"" ROUTE_NAME "-small\",\"operations\":[\"llm.chat\"]},"
        "{\"id\":\"" ROUTE_NAME "-mini\",\"operations\":[\"llm.chat\"]},"
        "{\"id\":\"" ROUTE_NAME "-reasoning\",\"operations\":[\"llm.chat\"]},"
        "{\"id\":\"" ROUTE_NAME "-vision\",\"operations\":[\"llm.chat\"]}],"
        "\"default_model\":\"bench-chat\",\"languages\":[\"en\",\"de\",\"fr\",\"es\",\"hi\"],"
        "\"prices\":["
        "{\"operation\":\"llm.chat\",\"model\":\"*\",\"unit\":\"input_token\",\"usd_per_unit\":%.9f,\"source\":\"bench\"},"
        "{\"operation\":\"llm.chat\",\"model\":\"*\",\"unit\":\"output_token\",\"usd_per_unit\":%.9f,\"source\":\"bench\"}]}",
        in, out);
    if (caps_len < 0 || caps_len >= (int)sizeof caps) { vox_error_set(e, VOX_ERR_INTERNAL, 0, 0, -1, "capabilities too long"); return NULL; }
    return &descriptor;
}

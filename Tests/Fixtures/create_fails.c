/* Breaks: create fails with VOX_ERR_UNAUTHENTICATED, message "fixture: no credentials" (the library loads fine).
 * Host must: report the instance as failed with code unauthenticated and that message; no capabilities call. */
#include "fixture_common.h"

static int32_t create(vox_host_plugin *hp, vox_type_str settings, vox_plugin_instance **out, vox_type_error *error) {
    (void)hp; (void)settings; (void)out;
    vox_error_set(error, VOX_ERR_UNAUTHENTICATED, 0, 0, -1, "fixture: no credentials");
    return VOX_ERR_UNAUTHENTICATED;
}

FX_VTABLE(vtable, create, fx_capabilities, fx_op_start_unsupported, fx_op_nothing, fx_op_nothing, NULL);
FX_GOOD_DESCRIPTOR(descriptor, "create_fails", vtable);
FX_ENTRY(&descriptor)

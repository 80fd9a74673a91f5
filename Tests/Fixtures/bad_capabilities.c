/* Breaks: capabilities returns truncated JSON, {"operations": [ (create succeeds).
 * Host must: refuse the instance (capabilities are not valid JSON), destroy it, and route nothing to it. */
#include "fixture_common.h"

static vox_type_str capabilities(vox_plugin_instance *inst) {
    (void)inst;
    return vox_str("{\"operations\": [");
}

FX_VTABLE(vtable, fx_create, capabilities, fx_op_start_unsupported, fx_op_nothing, fx_op_nothing, NULL);
FX_GOOD_DESCRIPTOR(descriptor, "bad_capabilities", vtable);
FX_ENTRY(&descriptor)

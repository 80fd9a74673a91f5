/* Breaks: the vtable's op_start slot, which ABI 1.0 requires, is NULL.
 * Host must: refuse to load it, naming the missing slot "op_start"; create is never called. */
#include "fixture_common.h"

FX_VTABLE(vtable, fx_create, fx_capabilities, NULL, fx_op_nothing, fx_op_nothing, NULL);
FX_GOOD_DESCRIPTOR(descriptor, "missing_required_slot", vtable);
FX_ENTRY(&descriptor)

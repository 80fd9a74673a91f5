/* Breaks: the descriptor's struct_size is 8, too small to hold even the ABI 1.0 fields.
 * Host must: refuse to load it (descriptor struct_size 8 < the 1.0 size), reading nothing past byte 8. */
#include "fixture_common.h"

FX_INERT_VTABLE(vtable);
FX_DESCRIPTOR(descriptor, 8, VOX_ABI_MAJOR, VOX_ABI_MINOR, "small_struct_size", vtable);
FX_ENTRY(&descriptor)

/* Breaks: the descriptor's struct_size is sizeof + 64 (a layout from a newer header) yet abi_minor says 1.0.
 * Host must: refuse it at the descriptor stage, saying the plugin needs a newer voxd. */
#include "fixture_common.h"

FX_INERT_VTABLE(vtable);

/* A descriptor followed by 64 bytes of fields the host does not know. */
static const struct {
    vox_plugin_descriptor known;
    unsigned char future[64];
} descriptor = {
    {sizeof(vox_plugin_descriptor) + 64, VOX_ABI_MAJOR, VOX_ABI_MINOR, "oversized_struct", "0.0.1", "voxd tests",
     "loader test fixture", NULL, &vtable},
    {0},
};
_Static_assert(sizeof descriptor == sizeof(vox_plugin_descriptor) + 64, "the bytes are really there");

FX_ENTRY(&descriptor.known)

/* Breaks: the descriptor's abi_minor is VOX_ABI_MINOR + 1 (built against a newer header than the host's).
 * Host must: refuse to load it, saying the plugin needs ABI 1.1 and the host has 1.0. */
#include "fixture_common.h"

FX_INERT_VTABLE(vtable);
FX_DESCRIPTOR(descriptor, sizeof(vox_plugin_descriptor), VOX_ABI_MAJOR, VOX_ABI_MINOR + 1, "abi_minor_too_new",
              vtable);
FX_ENTRY(&descriptor)

/* Breaks: the descriptor's abi_minor is VOX_ABI_MINOR + 1 (built against a newer header than the host's).
 * Host must: refuse to load it, saying the plugin needs a newer ABI minor than the host has (e.g. 1.3 on a 1.2 host). */
#include "fixture_common.h"

FX_INERT_VTABLE(vtable);
FX_DESCRIPTOR(descriptor, sizeof(vox_plugin_descriptor), VOX_ABI_MAJOR, VOX_ABI_MINOR + 1, "abi_minor_too_new",
              vtable);
FX_ENTRY(&descriptor)

/* Breaks: the descriptor's abi_major is VOX_ABI_MAJOR + 1 (built for a future, incompatible ABI).
 * Host must: refuse to load it, naming both majors (plugin 2.x, host 1.x); nothing else is called. */
#include "fixture_common.h"

FX_INERT_VTABLE(vtable);
FX_DESCRIPTOR(descriptor, sizeof(vox_plugin_descriptor), VOX_ABI_MAJOR + 1, VOX_ABI_MINOR, "abi_major_mismatch",
              vtable);
FX_ENTRY(&descriptor)

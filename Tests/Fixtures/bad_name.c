/* Breaks: the descriptor's name is "Bad Name!", outside [a-z0-9_-]{1,64}.
 * Host must: refuse to load it, quoting the name and the allowed pattern. */
#include "fixture_common.h"

FX_INERT_VTABLE(vtable);
FX_GOOD_DESCRIPTOR(descriptor, "Bad Name!", vtable);
FX_ENTRY(&descriptor)

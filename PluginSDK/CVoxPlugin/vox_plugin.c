/* Compiles the header as C in every build: a C plugin only needs
 * vox_plugin.h, and this file proves it stands alone. Defines nothing. */
#include "vox_plugin.h"
#include "vox_toolchain.h"

_Static_assert(sizeof(vox_type_str) == 2 * sizeof(void *), "vox_type_str is pointer + length");
_Static_assert(offsetof(vox_type_error, message) == 20, "vox_type_error header layout");

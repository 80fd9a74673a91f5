/* Breaks: exports no vox_plugin_entry symbol, only a wrongly named vox_plugin_init.
 * Host must: refuse to load it, saying the library has no "vox_plugin_entry" symbol. */
#include "vox_plugin.h"

#include <stddef.h>

VOX_EXPORT const vox_plugin_descriptor *vox_plugin_init(uint32_t host_abi_major, uint32_t host_abi_minor,
                                                        const vox_host_api *host, vox_type_error *error) {
    (void)host_abi_major; (void)host_abi_minor; (void)host; (void)error;
    return NULL;
}

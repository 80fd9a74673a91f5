/* Breaks: vox_plugin_entry returns NULL with error message "fixture refuses to load".
 * Host must: refuse to load it and pass the plugin's message on: "fixture refuses to load". */
#include "vox_plugin.h"

#include <stddef.h>

VOX_EXPORT const vox_plugin_descriptor *vox_plugin_entry(uint32_t host_abi_major, uint32_t host_abi_minor,
                                                         const vox_host_api *host, vox_type_error *error) {
    (void)host_abi_major; (void)host_abi_minor; (void)host;
    vox_error_set(error, VOX_ERR_UNSUPPORTED, 0, 0, -1, "fixture refuses to load");
    return NULL;
}

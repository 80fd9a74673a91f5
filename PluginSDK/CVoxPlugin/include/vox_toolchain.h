/*
 * vox_toolchain.h — for Swift code only (VoxPluginKit and voxd).
 *
 * Swift has no stable ABI on Linux, so a Swift plugin that shares the host's
 * libswiftCore.so must come from the host's exact toolchain. Swift code that
 * imports this module gets the compiler's identity from the clang embedded
 * in swiftc (it compiles this inline function), which names the toolchain's
 * llvm-project commit. Plain C plugins ignore this header.
 */
#ifndef VOX_TOOLCHAIN_H
#define VOX_TOOLCHAIN_H

static inline const char *vox_swift_toolchain_id(void) {
    return "swiftc/clang " __clang_version__;
}

#endif

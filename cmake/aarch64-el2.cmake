# Toolchain for the freestanding EL2 hypervisor: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-el2.cmake
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_ASM_COMPILER aarch64-linux-gnu-gcc)
# Nothing can be linked into a test executable without our own runtime.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(HYPHEAP_TARGET el2 CACHE STRING "What to build: host, el2 or guest" FORCE)

# No libc, no unwinder, no FP/SIMD (EL2 does not save the host's vector registers), no
# outline atomics (they live in libgcc), no stack protector (no guard symbol at EL2), no
# unaligned accesses (code may run with the MMU off, where memory is Device).
set(HYPHEAP_EL2_COMMON_FLAGS
    "-ffreestanding -nostdlib -mgeneral-regs-only -mno-outline-atomics -mstrict-align \
-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-stack-protector -fno-common -fno-pie")
set(CMAKE_C_FLAGS_INIT "${HYPHEAP_EL2_COMMON_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${HYPHEAP_EL2_COMMON_FLAGS}")
set(CMAKE_CXX_FLAGS_INIT
    "${HYPHEAP_EL2_COMMON_FLAGS} -fno-exceptions -fno-rtti -fno-threadsafe-statics")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostdlib -static -no-pie")

# Toolchain for the guest flavour: static aarch64 Linux programs (/init and the
# test programs) that run inside the QEMU guest's initramfs.
#
#   cmake -S . -B build/guest -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux.cmake
#
# Static linking because the initramfs carries no shared libraries.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(HYPHEAP_GUEST_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${HYPHEAP_GUEST_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${HYPHEAP_GUEST_TRIPLE}-g++)
set(CMAKE_ASM_COMPILER ${HYPHEAP_GUEST_TRIPLE}-gcc)

# Host programs (cmake, python) from the host; headers and libraries only from
# the cross sysroot, so nothing built for x86-64 is ever linked in.
set(CMAKE_FIND_ROOT_PATH /usr/${HYPHEAP_GUEST_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")

# The toolchain decides the flavour, so a stale -DHYPHEAP_TARGET cannot pair
# the cross compiler with the host build.
set(HYPHEAP_TARGET guest CACHE STRING "What to build: host, el2 or guest" FORCE)

#include <string.h>
#include "warden_shims.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* What systemd-detect-virt reads first for a VM: leaf 1 ECX bit 31 says a hypervisor is
 * present, leaf 0x40000000 carries its 12-byte signature in EBX, ECX, EDX. */
int warden_cpuid_hypervisor(char vendor[13]) {
    unsigned eax, ebx, ecx, edx;
    memset(vendor, 0, 13);
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & 0x80000000U)) return 0;
    __cpuid(0x40000000U, eax, ebx, ecx, edx);
    memcpy(vendor, &ebx, 4);
    memcpy(vendor + 4, &ecx, 4);
    memcpy(vendor + 8, &edx, 4);
    return 1;
}
#else
int warden_cpuid_hypervisor(char vendor[13]) {
    memset(vendor, 0, 13);
    return 0;
}
#endif

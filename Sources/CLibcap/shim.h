#ifndef WARDEN_CLIBCAP_SHIM_H
#define WARDEN_CLIBCAP_SHIM_H
#include <sys/capability.h>
#endif

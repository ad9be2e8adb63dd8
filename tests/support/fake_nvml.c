/* A stand-in libnvidia-ml.so.1 exporting the NVML calls torchpin's probe makes.
 * Behaviour comes from the environment, so one build serves every scenario:
 *   FAKE_NVML_INIT_RC  return code of nvmlInit_v2 (18 = driver/library version mismatch)
 *   FAKE_NVML_HANG     sleep this many seconds in nvmlInit_v2 (a wedged driver)
 *   FAKE_NVML_DRIVER   driver version string            (default 550.54.15)
 *   FAKE_NVML_CUDA     cuDriverGetVersion-style integer (default 12040)
 *   FAKE_NVML_GPUS     "name|cc|MiB;name|cc|MiB"; cc "-" makes that query fail
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { unsigned long long total, free, used; } nvmlMemory_t;

static int env_int(const char *key, int dflt) {
    const char *v = getenv(key);
    return v ? atoi(v) : dflt;
}

/* Copy field `field` (0..2) of GPU `index` from FAKE_NVML_GPUS into out; 0 on success. */
static int gpu_field(unsigned int index, int field, char *out, size_t n) {
    const char *spec = getenv("FAKE_NVML_GPUS");
    if (!spec) return -1;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", spec);
    char *save_gpu = NULL;
    unsigned int i = 0;
    for (char *gpu = strtok_r(buf, ";", &save_gpu); gpu; gpu = strtok_r(NULL, ";", &save_gpu), i++) {
        if (i != index) continue;
        char *save_f = NULL;
        int f = 0;
        for (char *part = strtok_r(gpu, "|", &save_f); part; part = strtok_r(NULL, "|", &save_f), f++) {
            if (f == field) { snprintf(out, n, "%s", part); return 0; }
        }
        return -1;
    }
    return -1;
}

static unsigned int gpu_count(void) {
    const char *spec = getenv("FAKE_NVML_GPUS");
    if (!spec || !*spec) return 0;
    unsigned int n = 1;
    for (const char *p = spec; *p; p++) n += (*p == ';');
    return n;
}

int nvmlInit_v2(void) {
    int hang = env_int("FAKE_NVML_HANG", 0);
    if (hang) sleep((unsigned int)hang);
    return env_int("FAKE_NVML_INIT_RC", 0);
}
int nvmlShutdown(void) { return 0; }
const char *nvmlErrorString(int rc) {
    switch (rc) {
    case 9: return "Driver Not Loaded";
    case 18: return "Driver/library version mismatch";
    default: return "Unknown Error";
    }
}
int nvmlSystemGetDriverVersion(char *buf, unsigned int n) {
    const char *v = getenv("FAKE_NVML_DRIVER");
    snprintf(buf, n, "%s", v ? v : "550.54.15");
    return 0;
}
int nvmlSystemGetCudaDriverVersion_v2(int *v) { *v = env_int("FAKE_NVML_CUDA", 12040); return 0; }
int nvmlSystemGetCudaDriverVersion(int *v) { return nvmlSystemGetCudaDriverVersion_v2(v); }
int nvmlDeviceGetCount_v2(unsigned int *n) { *n = gpu_count(); return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int i, void **h) {
    if (i >= gpu_count()) return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *h = (void *)(size_t)(i + 1);
    return 0;
}
int nvmlDeviceGetName(void *h, char *buf, unsigned int n) {
    return gpu_field((unsigned int)((size_t)h - 1), 0, buf, n) ? 999 : 0;
}
int nvmlDeviceGetUUID(void *h, char *buf, unsigned int n) {
    snprintf(buf, n, "GPU-fake-%04u", (unsigned int)((size_t)h - 1));
    return 0;
}
int nvmlDeviceGetCudaComputeCapability(void *h, int *major, int *minor) {
    char cc[16];
    if (gpu_field((unsigned int)((size_t)h - 1), 1, cc, sizeof cc) || cc[0] == '-') return 3; /* NOT_SUPPORTED */
    return sscanf(cc, "%d.%d", major, minor) == 2 ? 0 : 999;
}
int nvmlDeviceGetMemoryInfo(void *h, nvmlMemory_t *m) {
    char mib[32];
    if (gpu_field((unsigned int)((size_t)h - 1), 2, mib, sizeof mib)) return 3;
    m->total = strtoull(mib, NULL, 10) * 1024ULL * 1024ULL;
    m->free = m->total;
    m->used = 0;
    return 0;
}

/* A stand-in for NVIDIA's NVML (libnvidia-ml.so.1 / nvml.dll) that reports scripted GPUs and driver versions.
 *
 * It exports the NVML entry points the app's GPU search calls, with nvml.h's signatures and return codes, so
 * the app's ctypes code runs unchanged against it; the test scripts it through the fake_nvml_* functions (same
 * library handle). Calls before nvmlInit_v2, or after the last nvmlShutdown, fail as NVML's do. */
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#endif

typedef int nvmlReturn_t;
#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_LIB_RM_VERSION_MISMATCH 18

typedef struct nvmlMemory_st {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlDevice_st {
    char name[128];
    unsigned long long total, free;
    int cc_major, cc_minor;
    nvmlReturn_t memory_error;
} *nvmlDevice_t;

#define MAX_DEVICES 8
static struct nvmlDevice_st devices[MAX_DEVICES];
static unsigned int device_count;
static char driver_version[80] = "560.94";
static int cuda_version = 12060;
static nvmlReturn_t init_result;
static int sessions;  /* nvmlInit_v2 calls not yet matched by nvmlShutdown */

EXPORT void fake_nvml_reset(void) {
    memset(devices, 0, sizeof devices);
    device_count = 0;
    strcpy(driver_version, "560.94");
    cuda_version = 12060;
    init_result = NVML_SUCCESS;
    sessions = 0;
}

EXPORT void fake_nvml_driver(const char *version, int cuda) {
    strncpy(driver_version, version, sizeof driver_version - 1);
    cuda_version = cuda;
}

EXPORT void fake_nvml_fail_init(nvmlReturn_t result) { init_result = result; }

EXPORT int fake_nvml_sessions(void) { return sessions; }

/* memory_error: what nvmlDeviceGetMemoryInfo answers for this GPU (0: its memory). */
EXPORT void fake_nvml_add_gpu(const char *name, unsigned long long total, unsigned long long free_bytes,
                              int cc_major, int cc_minor, nvmlReturn_t memory_error) {
    if (device_count >= MAX_DEVICES) return;
    struct nvmlDevice_st *d = &devices[device_count++];
    strncpy(d->name, name, sizeof d->name - 1);
    d->total = total;
    d->free = free_bytes;
    d->cc_major = cc_major;
    d->cc_minor = cc_minor;
    d->memory_error = memory_error;
}

EXPORT nvmlReturn_t nvmlInit_v2(void) {
#ifdef FAKE_CRASH
    abort();  /* a driver that crashes its caller, as a broken install can */
#endif
    if (init_result != NVML_SUCCESS) return init_result;
    sessions++;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlShutdown(void) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    sessions--;
    return NVML_SUCCESS;
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    case NVML_ERROR_LIB_RM_VERSION_MISMATCH: return "Driver/library version mismatch";
    default: return "Unknown Error";
    }
}

EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    if (version == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(driver_version) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(version, driver_version);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlSystemGetCudaDriverVersion_v2(int *version) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    *version = cuda_version;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    *count = device_count;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    if (index >= device_count || device == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *device = &devices[index];
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    if (device == NULL || name == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (strlen(device->name) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    strcpy(name, device->name);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    if (device == NULL || memory == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    if (device->memory_error != NVML_SUCCESS) return device->memory_error;
    memory->total = device->total;
    memory->free = device->free;
    memory->used = device->total - device->free;
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetCudaComputeCapability(nvmlDevice_t device, int *major, int *minor) {
    if (sessions == 0) return NVML_ERROR_UNINITIALIZED;
    if (device == NULL || major == NULL || minor == NULL) return NVML_ERROR_INVALID_ARGUMENT;
    *major = device->cc_major;
    *minor = device->cc_minor;
    return NVML_SUCCESS;
}

#ifdef FAKE_PRESET_GPU
/* Scripted as it loads, for a search made in another process, where the test holds no handle to script. */
__attribute__((constructor)) static void preset(void) {
    fake_nvml_add_gpu("NVIDIA GeForce RTX 4070", 12282ULL << 20, 10ULL << 30, 8, 9, NVML_SUCCESS);
}
#endif

/* A stand-in for the Vulkan loader (libvulkan.so.1 / vulkan-1.dll) that lists scripted physical devices.
 *
 * It exports the entry points the app's GPU search calls, with their real signatures, so the app's ctypes code
 * runs unchanged against it; the test scripts it through the fake_vk_* functions (same library handle).
 * Each device's properties are filled whole, limits and sparse properties included, with known values, so a
 * caller whose structure is laid out differently reads the wrong ones. */
#include <stdlib.h>
#include <string.h>

#include "fake_vulkan.h"

#ifdef _WIN32
#define EXPORT __declspec(dllexport)
#else
#define EXPORT __attribute__((visibility("default")))
#endif

#define MAX_DEVICES 8

struct VkPhysicalDevice_T {
    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceMemoryProperties memory;
    int has_budget;
    VkDeviceSize budget[VK_MAX_MEMORY_HEAPS];
    VkDeviceSize usage[VK_MAX_MEMORY_HEAPS];
};

struct VkInstance_T {
    uint32_t api_version;
};

static struct VkPhysicalDevice_T devices[MAX_DEVICES];
static int device_count;
static VkResult create_result;
static struct VkInstance_T instance_record;
static int live_instances;
static uint32_t loader_version = VK_MAKE_API_VERSION(0, 1, 3, 0);
static int misuses;  /* calls the Vulkan rules forbid, which a real driver may crash on */

EXPORT void fake_vk_reset(void) {
    memset(devices, 0, sizeof devices);
    device_count = 0;
    create_result = VK_SUCCESS;
    live_instances = 0;
    misuses = 0;
    loader_version = VK_MAKE_API_VERSION(0, 1, 3, 0);
}

EXPORT void fake_vk_fail_create(VkResult result) { create_result = result; }

EXPORT int fake_vk_live_instances(void) { return live_instances; }

EXPORT int fake_vk_misuses(void) { return misuses; }

/* One device: a device-local heap of heap_size bytes and a host heap; budget 0 means no VK_EXT_memory_budget. */
EXPORT void fake_vk_add_device(const char *name, uint32_t vendor, VkPhysicalDeviceType type, uint32_t driver,
                               VkDeviceSize heap_size, VkDeviceSize budget, VkDeviceSize usage) {
    if (device_count >= MAX_DEVICES) return;
    struct VkPhysicalDevice_T *d = &devices[device_count++];
    memset(d, 0xA5, sizeof d->properties);  /* every byte the fields below leave is garbage to a misreader */
    d->properties.apiVersion = VK_MAKE_API_VERSION(0, 1, 3, 250);
    d->properties.driverVersion = driver;
    d->properties.vendorID = vendor;
    d->properties.deviceID = 0x1234;
    d->properties.deviceType = type;
    memset(d->properties.deviceName, 0, sizeof d->properties.deviceName);
    strncpy(d->properties.deviceName, name, sizeof d->properties.deviceName - 1);
    d->properties.limits.maxImageDimension1D = 16384;
    d->properties.limits.minMemoryMapAlignment = 64;
    d->properties.limits.nonCoherentAtomSize = 0x1122334455667788ULL;
    d->properties.sparseProperties.residencyNonResidentStrict = 1;

    memset(&d->memory, 0, sizeof d->memory);
    d->memory.memoryHeapCount = 2;
    d->memory.memoryHeaps[0].size = 16ULL << 30;  /* system memory the GPU can reach: never the card's */
    d->memory.memoryHeaps[0].flags = 0;
    d->memory.memoryHeaps[1].size = heap_size;
    d->memory.memoryHeaps[1].flags = VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    d->memory.memoryTypeCount = 2;
    d->memory.memoryTypes[0].heapIndex = 0;
    d->memory.memoryTypes[1].heapIndex = 1;
    d->has_budget = budget != 0;
    d->budget[1] = budget;
    d->usage[1] = usage;
    d->budget[0] = 8ULL << 30;
}

/* A loader that predates Vulkan 1.1: it has vkEnumerateInstanceVersion in this build, answering 1.0. */
EXPORT void fake_vk_loader_version(uint32_t major, uint32_t minor) {
    loader_version = VK_MAKE_API_VERSION(0, major, minor, 0);
}

EXPORT VkResult vkEnumerateInstanceVersion(uint32_t *version) {
    *version = loader_version;
    return VK_SUCCESS;
}

EXPORT VkResult vkCreateInstance(const VkInstanceCreateInfo *info, const void *allocator, VkInstance *instance) {
    (void)allocator;
#ifdef FAKE_CRASH
    abort();  /* a driver that crashes while loading, as some do */
#endif
    if (info == NULL || info->sType != VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO || info->pApplicationInfo == NULL ||
        info->pApplicationInfo->sType != VK_STRUCTURE_TYPE_APPLICATION_INFO)
        return -3;  /* VK_ERROR_INITIALIZATION_FAILED: the caller built its structures wrong */
    if (info->pApplicationInfo->apiVersion > loader_version) return VK_ERROR_INCOMPATIBLE_DRIVER;
    if (create_result != VK_SUCCESS) return create_result;
    instance_record.api_version = info->pApplicationInfo->apiVersion;
    *instance = &instance_record;
    live_instances++;
    return VK_SUCCESS;
}

EXPORT void vkDestroyInstance(VkInstance instance, const void *allocator) {
    (void)allocator;
    if (instance == &instance_record) live_instances--;
}

EXPORT VkResult vkEnumeratePhysicalDevices(VkInstance instance, uint32_t *count, VkPhysicalDevice *out) {
    (void)instance;
    if (out == NULL) {
        *count = (uint32_t)device_count;
        return VK_SUCCESS;
    }
    uint32_t n = *count < (uint32_t)device_count ? *count : (uint32_t)device_count;
    for (uint32_t i = 0; i < n; i++) out[i] = &devices[i];
    *count = n;
    return n < (uint32_t)device_count ? VK_INCOMPLETE : VK_SUCCESS;
}

EXPORT void vkGetPhysicalDeviceProperties(VkPhysicalDevice device, VkPhysicalDeviceProperties *properties) {
    memcpy(properties, &device->properties, sizeof *properties);
}

EXPORT void vkGetPhysicalDeviceMemoryProperties(VkPhysicalDevice device, VkPhysicalDeviceMemoryProperties *memory) {
    memcpy(memory, &device->memory, sizeof *memory);
}

EXPORT VkResult vkEnumerateDeviceExtensionProperties(VkPhysicalDevice device, const char *layer, uint32_t *count,
                                                     VkExtensionProperties *out) {
    static const char *names[] = {"VK_KHR_swapchain", "VK_EXT_memory_budget"};
    uint32_t available = device->has_budget ? 2 : 1;
    if (layer != NULL) {
        *count = 0;
        return VK_SUCCESS;
    }
    if (out == NULL) {
        *count = available;
        return VK_SUCCESS;
    }
    uint32_t n = *count < available ? *count : available;
    for (uint32_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        strcpy(out[i].extensionName, names[i]);
        out[i].specVersion = 1;
    }
    *count = n;
    return n < available ? VK_INCOMPLETE : VK_SUCCESS;
}

/* Vulkan 1.1: only valid on an instance created for 1.1 or later, which the fake holds its caller to. */
EXPORT void vkGetPhysicalDeviceMemoryProperties2(VkPhysicalDevice device, VkPhysicalDeviceMemoryProperties2 *memory) {
    if (instance_record.api_version < VK_MAKE_API_VERSION(0, 1, 1, 0)) {
        misuses++;
        return;
    }
    memcpy(&memory->memoryProperties, &device->memory, sizeof memory->memoryProperties);
    for (VkPhysicalDeviceMemoryBudgetPropertiesEXT *next = memory->pNext; next != NULL; next = next->pNext) {
        if (next->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT && device->has_budget) {
            memcpy(next->heapBudget, device->budget, sizeof next->heapBudget);
            memcpy(next->heapUsage, device->usage, sizeof next->heapUsage);
        }
    }
}

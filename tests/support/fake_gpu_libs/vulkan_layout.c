/* Prints the size and offsets of the Vulkan structures the app reads, as this compiler lays them out: built
 * against fake_vulkan.h, or against the real <vulkan/vulkan_core.h> with -DREAL_VULKAN_HEADERS. */
#include <stddef.h>
#include <stdio.h>

#ifdef REAL_VULKAN_HEADERS
#include <vulkan/vulkan_core.h>
#else
#include "fake_vulkan.h"
#endif

#define SIZE(type) printf("sizeof %s %zu\n", #type, sizeof(type))
#define OFFSET(type, field) printf("offsetof %s.%s %zu\n", #type, #field, offsetof(type, field))

int main(void) {
    SIZE(VkApplicationInfo);
    OFFSET(VkApplicationInfo, apiVersion);
    SIZE(VkInstanceCreateInfo);
    OFFSET(VkInstanceCreateInfo, pApplicationInfo);
    OFFSET(VkInstanceCreateInfo, ppEnabledExtensionNames);
    SIZE(VkPhysicalDeviceLimits);
    OFFSET(VkPhysicalDeviceLimits, bufferImageGranularity);
    OFFSET(VkPhysicalDeviceLimits, minMemoryMapAlignment);
    OFFSET(VkPhysicalDeviceLimits, nonCoherentAtomSize);
    SIZE(VkPhysicalDeviceProperties);
    OFFSET(VkPhysicalDeviceProperties, deviceType);
    OFFSET(VkPhysicalDeviceProperties, deviceName);
    OFFSET(VkPhysicalDeviceProperties, pipelineCacheUUID);
    OFFSET(VkPhysicalDeviceProperties, limits);
    OFFSET(VkPhysicalDeviceProperties, sparseProperties);
    SIZE(VkMemoryHeap);
    SIZE(VkPhysicalDeviceMemoryProperties);
    OFFSET(VkPhysicalDeviceMemoryProperties, memoryHeapCount);
    OFFSET(VkPhysicalDeviceMemoryProperties, memoryHeaps);
    SIZE(VkPhysicalDeviceMemoryProperties2);
    OFFSET(VkPhysicalDeviceMemoryProperties2, memoryProperties);
    SIZE(VkPhysicalDeviceMemoryBudgetPropertiesEXT);
    OFFSET(VkPhysicalDeviceMemoryBudgetPropertiesEXT, heapUsage);
    SIZE(VkExtensionProperties);
    OFFSET(VkExtensionProperties, specVersion);
    return 0;
}

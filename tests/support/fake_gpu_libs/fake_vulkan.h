/* The Vulkan 1.x structures and entry points the fake loader implements, written out from the Vulkan
 * specification (vulkan_core.h) for machines without the Vulkan headers. vulkan_layout.c compares them, and
 * the app's ctypes structures, with the real header where one is installed. */
#ifndef FAKE_VULKAN_H
#define FAKE_VULKAN_H

#include <stddef.h>
#include <stdint.h>

typedef uint32_t VkBool32;
typedef uint32_t VkFlags;
typedef VkFlags VkSampleCountFlags;
typedef VkFlags VkMemoryHeapFlags;
typedef VkFlags VkMemoryPropertyFlags;
typedef VkFlags VkInstanceCreateFlags;
typedef uint64_t VkDeviceSize;
typedef int32_t VkResult;              /* an enum in the header: 32 bits on every ABI Vulkan supports */
typedef int32_t VkStructureType;
typedef int32_t VkPhysicalDeviceType;
typedef struct VkInstance_T *VkInstance;
typedef struct VkPhysicalDevice_T *VkPhysicalDevice;

#define VK_SUCCESS 0
#define VK_INCOMPLETE 5
#define VK_ERROR_INCOMPATIBLE_DRIVER (-9)
#define VK_MAX_PHYSICAL_DEVICE_NAME_SIZE 256U
#define VK_UUID_SIZE 16U
#define VK_MAX_MEMORY_TYPES 32U
#define VK_MAX_MEMORY_HEAPS 16U
#define VK_MAX_EXTENSION_NAME_SIZE 256U
#define VK_MEMORY_HEAP_DEVICE_LOCAL_BIT 0x1
#define VK_STRUCTURE_TYPE_APPLICATION_INFO 0
#define VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO 1
#define VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2 1000059006
#define VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT 1000237000
#define VK_MAKE_API_VERSION(variant, major, minor, patch) \
    ((((uint32_t)(variant)) << 29U) | (((uint32_t)(major)) << 22U) | (((uint32_t)(minor)) << 12U) | ((uint32_t)(patch)))

typedef struct VkApplicationInfo {
    VkStructureType sType;
    const void *pNext;
    const char *pApplicationName;
    uint32_t applicationVersion;
    const char *pEngineName;
    uint32_t engineVersion;
    uint32_t apiVersion;
} VkApplicationInfo;

typedef struct VkInstanceCreateInfo {
    VkStructureType sType;
    const void *pNext;
    VkInstanceCreateFlags flags;
    const VkApplicationInfo *pApplicationInfo;
    uint32_t enabledLayerCount;
    const char *const *ppEnabledLayerNames;
    uint32_t enabledExtensionCount;
    const char *const *ppEnabledExtensionNames;
} VkInstanceCreateInfo;

typedef struct VkPhysicalDeviceLimits {
    uint32_t            maxImageDimension1D;
    uint32_t            maxImageDimension2D;
    uint32_t            maxImageDimension3D;
    uint32_t            maxImageDimensionCube;
    uint32_t            maxImageArrayLayers;
    uint32_t            maxTexelBufferElements;
    uint32_t            maxUniformBufferRange;
    uint32_t            maxStorageBufferRange;
    uint32_t            maxPushConstantsSize;
    uint32_t            maxMemoryAllocationCount;
    uint32_t            maxSamplerAllocationCount;
    VkDeviceSize        bufferImageGranularity;
    VkDeviceSize        sparseAddressSpaceSize;
    uint32_t            maxBoundDescriptorSets;
    uint32_t            maxPerStageDescriptorSamplers;
    uint32_t            maxPerStageDescriptorUniformBuffers;
    uint32_t            maxPerStageDescriptorStorageBuffers;
    uint32_t            maxPerStageDescriptorSampledImages;
    uint32_t            maxPerStageDescriptorStorageImages;
    uint32_t            maxPerStageDescriptorInputAttachments;
    uint32_t            maxPerStageResources;
    uint32_t            maxDescriptorSetSamplers;
    uint32_t            maxDescriptorSetUniformBuffers;
    uint32_t            maxDescriptorSetUniformBuffersDynamic;
    uint32_t            maxDescriptorSetStorageBuffers;
    uint32_t            maxDescriptorSetStorageBuffersDynamic;
    uint32_t            maxDescriptorSetSampledImages;
    uint32_t            maxDescriptorSetStorageImages;
    uint32_t            maxDescriptorSetInputAttachments;
    uint32_t            maxVertexInputAttributes;
    uint32_t            maxVertexInputBindings;
    uint32_t            maxVertexInputAttributeOffset;
    uint32_t            maxVertexInputBindingStride;
    uint32_t            maxVertexOutputComponents;
    uint32_t            maxTessellationGenerationLevel;
    uint32_t            maxTessellationPatchSize;
    uint32_t            maxTessellationControlPerVertexInputComponents;
    uint32_t            maxTessellationControlPerVertexOutputComponents;
    uint32_t            maxTessellationControlPerPatchOutputComponents;
    uint32_t            maxTessellationControlTotalOutputComponents;
    uint32_t            maxTessellationEvaluationInputComponents;
    uint32_t            maxTessellationEvaluationOutputComponents;
    uint32_t            maxGeometryShaderInvocations;
    uint32_t            maxGeometryInputComponents;
    uint32_t            maxGeometryOutputComponents;
    uint32_t            maxGeometryOutputVertices;
    uint32_t            maxGeometryTotalOutputComponents;
    uint32_t            maxFragmentInputComponents;
    uint32_t            maxFragmentOutputAttachments;
    uint32_t            maxFragmentDualSrcAttachments;
    uint32_t            maxFragmentCombinedOutputResources;
    uint32_t            maxComputeSharedMemorySize;
    uint32_t            maxComputeWorkGroupCount[3];
    uint32_t            maxComputeWorkGroupInvocations;
    uint32_t            maxComputeWorkGroupSize[3];
    uint32_t            subPixelPrecisionBits;
    uint32_t            subTexelPrecisionBits;
    uint32_t            mipmapPrecisionBits;
    uint32_t            maxDrawIndexedIndexValue;
    uint32_t            maxDrawIndirectCount;
    float               maxSamplerLodBias;
    float               maxSamplerAnisotropy;
    uint32_t            maxViewports;
    uint32_t            maxViewportDimensions[2];
    float               viewportBoundsRange[2];
    uint32_t            viewportSubPixelBits;
    size_t              minMemoryMapAlignment;
    VkDeviceSize        minTexelBufferOffsetAlignment;
    VkDeviceSize        minUniformBufferOffsetAlignment;
    VkDeviceSize        minStorageBufferOffsetAlignment;
    int32_t             minTexelOffset;
    uint32_t            maxTexelOffset;
    int32_t             minTexelGatherOffset;
    uint32_t            maxTexelGatherOffset;
    float               minInterpolationOffset;
    float               maxInterpolationOffset;
    uint32_t            subPixelInterpolationOffsetBits;
    uint32_t            maxFramebufferWidth;
    uint32_t            maxFramebufferHeight;
    uint32_t            maxFramebufferLayers;
    VkSampleCountFlags  framebufferColorSampleCounts;
    VkSampleCountFlags  framebufferDepthSampleCounts;
    VkSampleCountFlags  framebufferStencilSampleCounts;
    VkSampleCountFlags  framebufferNoAttachmentsSampleCounts;
    uint32_t            maxColorAttachments;
    VkSampleCountFlags  sampledImageColorSampleCounts;
    VkSampleCountFlags  sampledImageIntegerSampleCounts;
    VkSampleCountFlags  sampledImageDepthSampleCounts;
    VkSampleCountFlags  sampledImageStencilSampleCounts;
    VkSampleCountFlags  storageImageSampleCounts;
    uint32_t            maxSampleMaskWords;
    VkBool32            timestampComputeAndGraphics;
    float               timestampPeriod;
    uint32_t            maxClipDistances;
    uint32_t            maxCullDistances;
    uint32_t            maxCombinedClipAndCullDistances;
    uint32_t            discreteQueuePriorities;
    float               pointSizeRange[2];
    float               lineWidthRange[2];
    float               pointSizeGranularity;
    float               lineWidthGranularity;
    VkBool32            strictLines;
    VkBool32            standardSampleLocations;
    VkDeviceSize        optimalBufferCopyOffsetAlignment;
    VkDeviceSize        optimalBufferCopyRowPitchAlignment;
    VkDeviceSize        nonCoherentAtomSize;
} VkPhysicalDeviceLimits;

typedef struct VkPhysicalDeviceSparseProperties {
    VkBool32 residencyStandard2DBlockShape;
    VkBool32 residencyStandard2DMultisampleBlockShape;
    VkBool32 residencyStandard3DBlockShape;
    VkBool32 residencyAlignedMipSize;
    VkBool32 residencyNonResidentStrict;
} VkPhysicalDeviceSparseProperties;

typedef struct VkPhysicalDeviceProperties {
    uint32_t apiVersion;
    uint32_t driverVersion;
    uint32_t vendorID;
    uint32_t deviceID;
    VkPhysicalDeviceType deviceType;
    char deviceName[VK_MAX_PHYSICAL_DEVICE_NAME_SIZE];
    uint8_t pipelineCacheUUID[VK_UUID_SIZE];
    VkPhysicalDeviceLimits limits;
    VkPhysicalDeviceSparseProperties sparseProperties;
} VkPhysicalDeviceProperties;

typedef struct VkMemoryType {
    VkMemoryPropertyFlags propertyFlags;
    uint32_t heapIndex;
} VkMemoryType;

typedef struct VkMemoryHeap {
    VkDeviceSize size;
    VkMemoryHeapFlags flags;
} VkMemoryHeap;

typedef struct VkPhysicalDeviceMemoryProperties {
    uint32_t memoryTypeCount;
    VkMemoryType memoryTypes[VK_MAX_MEMORY_TYPES];
    uint32_t memoryHeapCount;
    VkMemoryHeap memoryHeaps[VK_MAX_MEMORY_HEAPS];
} VkPhysicalDeviceMemoryProperties;

typedef struct VkPhysicalDeviceMemoryProperties2 {
    VkStructureType sType;
    void *pNext;
    VkPhysicalDeviceMemoryProperties memoryProperties;
} VkPhysicalDeviceMemoryProperties2;

typedef struct VkPhysicalDeviceMemoryBudgetPropertiesEXT {
    VkStructureType sType;
    void *pNext;
    VkDeviceSize heapBudget[VK_MAX_MEMORY_HEAPS];
    VkDeviceSize heapUsage[VK_MAX_MEMORY_HEAPS];
} VkPhysicalDeviceMemoryBudgetPropertiesEXT;

typedef struct VkExtensionProperties {
    char extensionName[VK_MAX_EXTENSION_NAME_SIZE];
    uint32_t specVersion;
} VkExtensionProperties;

#endif

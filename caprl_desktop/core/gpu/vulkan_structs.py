"""The Vulkan structures the GPU search reads, laid out as vulkan_core.h (Vulkan 1.x) defines them.

ctypes places each field as the C compiler does, so the structures are written out whole, the limits included:
VkPhysicalDeviceProperties is 824 bytes on 64-bit systems and the driver writes all of them. The tests compare
these layouts with C's (a fake loader compiled in the test, and the real header where one is installed).
"""

from __future__ import annotations

import ctypes

_U32 = ctypes.c_uint32
_I32 = ctypes.c_int32
_F32 = ctypes.c_float
_U64 = ctypes.c_uint64  # VkDeviceSize
_SIZE = ctypes.c_size_t

VK_SUCCESS = 0
VK_INCOMPLETE = 5
VK_MAX_PHYSICAL_DEVICE_NAME_SIZE = 256
VK_UUID_SIZE = 16
VK_MAX_MEMORY_TYPES = 32
VK_MAX_MEMORY_HEAPS = 16
VK_MAX_EXTENSION_NAME_SIZE = 256
VK_MEMORY_HEAP_DEVICE_LOCAL_BIT = 0x1

VK_STRUCTURE_TYPE_APPLICATION_INFO = 0
VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO = 1
VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2 = 1000059006
VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT = 1000237000

# VkPhysicalDeviceType
VK_PHYSICAL_DEVICE_TYPE_OTHER = 0
VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU = 1
VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU = 2
VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU = 3
VK_PHYSICAL_DEVICE_TYPE_CPU = 4


def vk_api_version(major: int, minor: int) -> int:
    """VK_MAKE_API_VERSION(0, major, minor, 0)."""
    return (major << 22) | (minor << 12)


def vk_version_text(version: int) -> str:
    return f"{(version >> 22) & 0x7F}.{(version >> 12) & 0x3FF}"


class VkApplicationInfo(ctypes.Structure):
    _fields_ = (("sType", _I32), ("pNext", ctypes.c_void_p), ("pApplicationName", ctypes.c_char_p),
                ("applicationVersion", _U32), ("pEngineName", ctypes.c_char_p), ("engineVersion", _U32),
                ("apiVersion", _U32))


class VkInstanceCreateInfo(ctypes.Structure):
    _fields_ = (("sType", _I32), ("pNext", ctypes.c_void_p), ("flags", _U32),
                ("pApplicationInfo", ctypes.POINTER(VkApplicationInfo)), ("enabledLayerCount", _U32),
                ("ppEnabledLayerNames", ctypes.POINTER(ctypes.c_char_p)), ("enabledExtensionCount", _U32),
                ("ppEnabledExtensionNames", ctypes.POINTER(ctypes.c_char_p)))


class VkPhysicalDeviceLimits(ctypes.Structure):
    _fields_ = (
        ("maxImageDimension1D", _U32), ("maxImageDimension2D", _U32), ("maxImageDimension3D", _U32),
        ("maxImageDimensionCube", _U32), ("maxImageArrayLayers", _U32), ("maxTexelBufferElements", _U32),
        ("maxUniformBufferRange", _U32), ("maxStorageBufferRange", _U32), ("maxPushConstantsSize", _U32),
        ("maxMemoryAllocationCount", _U32), ("maxSamplerAllocationCount", _U32), ("bufferImageGranularity", _U64),
        ("sparseAddressSpaceSize", _U64), ("maxBoundDescriptorSets", _U32), ("maxPerStageDescriptorSamplers", _U32),
        ("maxPerStageDescriptorUniformBuffers", _U32), ("maxPerStageDescriptorStorageBuffers", _U32),
        ("maxPerStageDescriptorSampledImages", _U32), ("maxPerStageDescriptorStorageImages", _U32),
        ("maxPerStageDescriptorInputAttachments", _U32), ("maxPerStageResources", _U32),
        ("maxDescriptorSetSamplers", _U32), ("maxDescriptorSetUniformBuffers", _U32),
        ("maxDescriptorSetUniformBuffersDynamic", _U32), ("maxDescriptorSetStorageBuffers", _U32),
        ("maxDescriptorSetStorageBuffersDynamic", _U32), ("maxDescriptorSetSampledImages", _U32),
        ("maxDescriptorSetStorageImages", _U32), ("maxDescriptorSetInputAttachments", _U32),
        ("maxVertexInputAttributes", _U32), ("maxVertexInputBindings", _U32), ("maxVertexInputAttributeOffset", _U32),
        ("maxVertexInputBindingStride", _U32), ("maxVertexOutputComponents", _U32),
        ("maxTessellationGenerationLevel", _U32), ("maxTessellationPatchSize", _U32),
        ("maxTessellationControlPerVertexInputComponents", _U32),
        ("maxTessellationControlPerVertexOutputComponents", _U32),
        ("maxTessellationControlPerPatchOutputComponents", _U32), ("maxTessellationControlTotalOutputComponents", _U32),
        ("maxTessellationEvaluationInputComponents", _U32), ("maxTessellationEvaluationOutputComponents", _U32),
        ("maxGeometryShaderInvocations", _U32), ("maxGeometryInputComponents", _U32),
        ("maxGeometryOutputComponents", _U32), ("maxGeometryOutputVertices", _U32),
        ("maxGeometryTotalOutputComponents", _U32), ("maxFragmentInputComponents", _U32),
        ("maxFragmentOutputAttachments", _U32), ("maxFragmentDualSrcAttachments", _U32),
        ("maxFragmentCombinedOutputResources", _U32), ("maxComputeSharedMemorySize", _U32),
        ("maxComputeWorkGroupCount", _U32 * 3), ("maxComputeWorkGroupInvocations", _U32),
        ("maxComputeWorkGroupSize", _U32 * 3), ("subPixelPrecisionBits", _U32), ("subTexelPrecisionBits", _U32),
        ("mipmapPrecisionBits", _U32), ("maxDrawIndexedIndexValue", _U32), ("maxDrawIndirectCount", _U32),
        ("maxSamplerLodBias", _F32), ("maxSamplerAnisotropy", _F32), ("maxViewports", _U32),
        ("maxViewportDimensions", _U32 * 2), ("viewportBoundsRange", _F32 * 2), ("viewportSubPixelBits", _U32),
        ("minMemoryMapAlignment", _SIZE), ("minTexelBufferOffsetAlignment", _U64),
        ("minUniformBufferOffsetAlignment", _U64), ("minStorageBufferOffsetAlignment", _U64), ("minTexelOffset", _I32),
        ("maxTexelOffset", _U32), ("minTexelGatherOffset", _I32), ("maxTexelGatherOffset", _U32),
        ("minInterpolationOffset", _F32), ("maxInterpolationOffset", _F32), ("subPixelInterpolationOffsetBits", _U32),
        ("maxFramebufferWidth", _U32), ("maxFramebufferHeight", _U32), ("maxFramebufferLayers", _U32),
        ("framebufferColorSampleCounts", _U32), ("framebufferDepthSampleCounts", _U32),
        ("framebufferStencilSampleCounts", _U32), ("framebufferNoAttachmentsSampleCounts", _U32),
        ("maxColorAttachments", _U32), ("sampledImageColorSampleCounts", _U32),
        ("sampledImageIntegerSampleCounts", _U32),
        ("sampledImageDepthSampleCounts", _U32), ("sampledImageStencilSampleCounts", _U32),
        ("storageImageSampleCounts", _U32), ("maxSampleMaskWords", _U32), ("timestampComputeAndGraphics", _U32),
        ("timestampPeriod", _F32), ("maxClipDistances", _U32), ("maxCullDistances", _U32),
        ("maxCombinedClipAndCullDistances", _U32), ("discreteQueuePriorities", _U32), ("pointSizeRange", _F32 * 2),
        ("lineWidthRange", _F32 * 2), ("pointSizeGranularity", _F32), ("lineWidthGranularity", _F32),
        ("strictLines", _U32), ("standardSampleLocations", _U32), ("optimalBufferCopyOffsetAlignment", _U64),
        ("optimalBufferCopyRowPitchAlignment", _U64), ("nonCoherentAtomSize", _U64),    )


class VkPhysicalDeviceSparseProperties(ctypes.Structure):
    _fields_ = (("residencyStandard2DBlockShape", _U32), ("residencyStandard2DMultisampleBlockShape", _U32),
                ("residencyStandard3DBlockShape", _U32), ("residencyAlignedMipSize", _U32),
                ("residencyNonResidentStrict", _U32))


class VkPhysicalDeviceProperties(ctypes.Structure):
    _fields_ = (("apiVersion", _U32), ("driverVersion", _U32), ("vendorID", _U32), ("deviceID", _U32),
                ("deviceType", _I32), ("deviceName", ctypes.c_char * VK_MAX_PHYSICAL_DEVICE_NAME_SIZE),
                ("pipelineCacheUUID", ctypes.c_uint8 * VK_UUID_SIZE), ("limits", VkPhysicalDeviceLimits),
                ("sparseProperties", VkPhysicalDeviceSparseProperties))


class VkMemoryType(ctypes.Structure):
    _fields_ = (("propertyFlags", _U32), ("heapIndex", _U32))


class VkMemoryHeap(ctypes.Structure):
    _fields_ = (("size", _U64), ("flags", _U32))


class VkPhysicalDeviceMemoryProperties(ctypes.Structure):
    _fields_ = (("memoryTypeCount", _U32), ("memoryTypes", VkMemoryType * VK_MAX_MEMORY_TYPES),
                ("memoryHeapCount", _U32), ("memoryHeaps", VkMemoryHeap * VK_MAX_MEMORY_HEAPS))


class VkPhysicalDeviceMemoryProperties2(ctypes.Structure):
    _fields_ = (("sType", _I32), ("pNext", ctypes.c_void_p), ("memoryProperties", VkPhysicalDeviceMemoryProperties))


class VkPhysicalDeviceMemoryBudgetPropertiesEXT(ctypes.Structure):
    _fields_ = (("sType", _I32), ("pNext", ctypes.c_void_p), ("heapBudget", _U64 * VK_MAX_MEMORY_HEAPS),
                ("heapUsage", _U64 * VK_MAX_MEMORY_HEAPS))


class VkExtensionProperties(ctypes.Structure):
    _fields_ = (("extensionName", ctypes.c_char * VK_MAX_EXTENSION_NAME_SIZE), ("specVersion", _U32))

"""GPUs through the Vulkan loader (``vulkan-1.dll``, ``libvulkan.so.1``), loaded with ctypes: AMD, Intel and NVIDIA.

One short-lived instance lists the physical devices: name, vendor and type from their properties, memory from
their device-local heaps. Where the driver has VK_EXT_memory_budget (Vulkan 1.1), what this process could
allocate now is read too, as llama.cpp's Vulkan backend reads it. CPU devices (llvmpipe and the like) are
not GPUs and are left out. No loader, no driver (VK_ERROR_INCOMPATIBLE_DRIVER) or no device is an answer in
words, never an exception.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

from caprl_desktop.core.gpu.found import VENDOR_IDS, Gpu
from caprl_desktop.core.gpu.libraries import open_first, system32
from caprl_desktop.core.gpu.vulkan_structs import (
    VK_INCOMPLETE,
    VK_MEMORY_HEAP_DEVICE_LOCAL_BIT,
    VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU,
    VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU,
    VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU,
    VK_STRUCTURE_TYPE_APPLICATION_INFO,
    VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT,
    VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
    VK_SUCCESS,
    VkApplicationInfo,
    VkExtensionProperties,
    VkInstanceCreateInfo,
    VkPhysicalDeviceMemoryBudgetPropertiesEXT,
    VkPhysicalDeviceMemoryProperties,
    VkPhysicalDeviceMemoryProperties2,
    VkPhysicalDeviceProperties,
    vk_api_version,
)

_GPU_TYPES = (VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU,
              VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU)
_MAX_DEVICES = 64
_MAX_EXTENSIONS = 4096
_RESULTS = {
    -1: "VK_ERROR_OUT_OF_HOST_MEMORY", -2: "VK_ERROR_OUT_OF_DEVICE_MEMORY", -3: "VK_ERROR_INITIALIZATION_FAILED",
    -4: "VK_ERROR_DEVICE_LOST", -6: "VK_ERROR_LAYER_NOT_PRESENT", -7: "VK_ERROR_EXTENSION_NOT_PRESENT",
    -9: "VK_ERROR_INCOMPATIBLE_DRIVER",
}
_MEMORY_BUDGET = b"VK_EXT_memory_budget"


def vulkan_candidates(platform: str) -> tuple[str, ...]:
    """The loader's name on this OS; none on macOS, where llama.cpp's build uses Metal and Vulkan needs MoltenVK."""
    if platform == "win32":
        return (system32("vulkan-1.dll"),)
    if platform == "darwin":
        return ()
    return ("libvulkan.so.1",)


class VulkanError(Exception):
    """A Vulkan call that failed; caught inside this module and said in words."""


def _result_text(code: int) -> str:
    return _RESULTS.get(code, f"VkResult {code}")


def _function(lib: ctypes.CDLL, name: str, restype: Any, *argtypes: Any) -> Any:
    try:
        fn = getattr(lib, name)
    except AttributeError:
        raise VulkanError(f"the loader has no {name}") from None
    fn.restype = restype
    fn.argtypes = argtypes
    return fn


def read_vulkan(candidates: Sequence[str]) -> tuple[list[Gpu], str]:
    """GPUs the Vulkan loader lists, and a note on what was found or why nothing ("no Vulkan device (…)")."""
    opened = open_first(candidates)
    if isinstance(opened, str):
        return [], f"no Vulkan device ({opened})"
    lib, name = opened
    try:
        gpus = _list(lib)
    except VulkanError as exc:
        return [], f"no Vulkan device ({name}: {exc})"
    if not gpus:
        return [], f"no Vulkan device ({name}: the Vulkan drivers list no GPU)"
    return gpus, f"Vulkan ({name}): {len(gpus)} GPU{'s' if len(gpus) > 1 else ''}"


def _instance_version(lib: ctypes.CDLL) -> int:
    """The loader's own Vulkan version; a 1.0 loader has no vkEnumerateInstanceVersion and must be asked for 1.0."""
    try:
        enumerate_version = _function(lib, "vkEnumerateInstanceVersion", ctypes.c_int32,
                                      ctypes.POINTER(ctypes.c_uint32))
    except VulkanError:
        return vk_api_version(1, 0)
    version = ctypes.c_uint32(0)
    if enumerate_version(ctypes.byref(version)) != VK_SUCCESS:
        return vk_api_version(1, 0)
    return version.value


def _list(lib: ctypes.CDLL) -> list[Gpu]:
    create = _function(lib, "vkCreateInstance", ctypes.c_int32, ctypes.POINTER(VkInstanceCreateInfo),
                       ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p))
    destroy = _function(lib, "vkDestroyInstance", None, ctypes.c_void_p, ctypes.c_void_p)
    # 1.1 where the loader has it: the memory budget is read through vkGetPhysicalDeviceMemoryProperties2.
    api = vk_api_version(1, 1) if _instance_version(lib) >= vk_api_version(1, 1) else vk_api_version(1, 0)
    app = VkApplicationInfo(sType=VK_STRUCTURE_TYPE_APPLICATION_INFO, pApplicationName=b"CapRL Desktop",
                            applicationVersion=1, pEngineName=b"CapRL Desktop", engineVersion=1, apiVersion=api)
    info = VkInstanceCreateInfo(sType=VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO, pApplicationInfo=ctypes.pointer(app))
    instance = ctypes.c_void_p()
    result = create(ctypes.byref(info), None, ctypes.byref(instance))
    if result != VK_SUCCESS:
        if result == -9:  # VK_ERROR_INCOMPATIBLE_DRIVER: the loader found no driver to talk to
            raise VulkanError("no Vulkan driver is installed (VK_ERROR_INCOMPATIBLE_DRIVER)")
        raise VulkanError(f"vkCreateInstance failed: {_result_text(result)}")
    try:
        return [gpu for device in _physical_devices(lib, instance)
                if (gpu := _gpu(lib, device, api)) is not None]
    finally:
        destroy(instance, None)


def _physical_devices(lib: ctypes.CDLL, instance: ctypes.c_void_p) -> list[ctypes.c_void_p]:
    enumerate_devices = _function(lib, "vkEnumeratePhysicalDevices", ctypes.c_int32, ctypes.c_void_p,
                                  ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_void_p))
    count = ctypes.c_uint32(0)
    result = enumerate_devices(instance, ctypes.byref(count), None)
    if result != VK_SUCCESS:
        raise VulkanError(f"vkEnumeratePhysicalDevices failed: {_result_text(result)}")
    wanted = min(count.value, _MAX_DEVICES)
    devices = (ctypes.c_void_p * max(1, wanted))()
    count.value = wanted
    result = enumerate_devices(instance, ctypes.byref(count), devices)
    if result not in (VK_SUCCESS, VK_INCOMPLETE):  # INCOMPLETE: a device came since; the ones listed stand
        raise VulkanError(f"vkEnumeratePhysicalDevices failed: {_result_text(result)}")
    return [ctypes.c_void_p(devices[i]) for i in range(min(count.value, wanted))]


def _gpu(lib: ctypes.CDLL, device: ctypes.c_void_p, instance_api: int) -> Gpu | None:
    get_properties = _function(lib, "vkGetPhysicalDeviceProperties", None, ctypes.c_void_p,
                               ctypes.POINTER(VkPhysicalDeviceProperties))
    properties = VkPhysicalDeviceProperties()
    get_properties(device, ctypes.byref(properties))
    if properties.deviceType not in _GPU_TYPES:
        return None
    get_memory = _function(lib, "vkGetPhysicalDeviceMemoryProperties", None, ctypes.c_void_p,
                           ctypes.POINTER(VkPhysicalDeviceMemoryProperties))
    memory = VkPhysicalDeviceMemoryProperties()
    get_memory(device, ctypes.byref(memory))
    heaps = [i for i in range(min(memory.memoryHeapCount, len(memory.memoryHeaps)))
             if memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT]
    if not heaps:
        return None
    # The largest device-local heap is the card's memory; AMD's small BAR window is a second one beside it.
    heap = max(heaps, key=lambda i: memory.memoryHeaps[i].size)
    free = None
    version_1_1 = vk_api_version(1, 1)
    if instance_api >= version_1_1 and properties.apiVersion >= version_1_1 and _has_memory_budget(lib, device):
        free = _budget_left(lib, device, heap)
    vendor = VENDOR_IDS.get(properties.vendorID, "other")
    name = properties.deviceName.decode("utf-8", "replace").strip() or f"Vulkan device {properties.deviceID:#x}"
    return Gpu(name=name,
               vendor=vendor, source="Vulkan", memory_total=int(memory.memoryHeaps[heap].size), memory_free=free,
               shares_system_memory=properties.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU,
               driver_version=_nvidia_driver(properties.driverVersion) if vendor == "NVIDIA" else None)


def _has_memory_budget(lib: ctypes.CDLL, device: ctypes.c_void_p) -> bool:
    list_extensions = _function(lib, "vkEnumerateDeviceExtensionProperties", ctypes.c_int32, ctypes.c_void_p,
                                ctypes.c_char_p, ctypes.POINTER(ctypes.c_uint32),
                                ctypes.POINTER(VkExtensionProperties))
    count = ctypes.c_uint32(0)
    if list_extensions(device, None, ctypes.byref(count), None) != VK_SUCCESS:
        return False
    count.value = min(count.value, _MAX_EXTENSIONS)
    extensions = (VkExtensionProperties * max(1, count.value))()
    if list_extensions(device, None, ctypes.byref(count), extensions) not in (VK_SUCCESS, VK_INCOMPLETE):
        return False
    return any(extensions[i].extensionName == _MEMORY_BUDGET for i in range(count.value))


def _budget_left(lib: ctypes.CDLL, device: ctypes.c_void_p, heap: int) -> int | None:
    """What this process could still allocate on the heap: the driver's budget less what it already uses."""
    try:
        get_memory2 = _function(lib, "vkGetPhysicalDeviceMemoryProperties2", None, ctypes.c_void_p,
                                ctypes.POINTER(VkPhysicalDeviceMemoryProperties2))
    except VulkanError:
        return None
    budget = VkPhysicalDeviceMemoryBudgetPropertiesEXT(
        sType=VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT)
    memory2 = VkPhysicalDeviceMemoryProperties2(sType=VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2,
                                                pNext=ctypes.cast(ctypes.pointer(budget), ctypes.c_void_p))
    get_memory2(device, ctypes.byref(memory2))
    left = int(budget.heapBudget[heap]) - int(budget.heapUsage[heap])
    return left if budget.heapBudget[heap] > 0 and left >= 0 else None


def _nvidia_driver(version: int) -> str:
    """NVIDIA packs its driver version into Vulkan's driverVersion in 10.8.8.6 bits: 560.94 is 560 << 22 | 94 << 14."""
    return f"{(version >> 22) & 0x3FF}.{(version >> 14) & 0xFF:02d}"

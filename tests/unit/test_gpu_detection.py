"""Finding the GPU through NVML and the Vulkan loader, loaded with ctypes: fake C libraries stand in for the drivers.

The fakes export the drivers' own entry points with their signatures, and the app's real ctypes code loads them
by path, so what is tested is the code that runs on a user's machine, down to the structures' byte layout.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

from caprl_desktop.core.diagnostics import gpu_lines
from caprl_desktop.core.gpu import vulkan_structs as vk
from caprl_desktop.core.gpu.detect import detect, detect_isolated
from caprl_desktop.core.gpu.found import GpuSearch
from caprl_desktop.core.gpu.variant import choose_variant
from tests.support.fake_gpu_libs import (
    AMD,
    CPU_DEVICE,
    DISCRETE,
    INTEGRATED,
    INTEL,
    NVIDIA,
    FakeNvml,
    FakeVulkan,
    GiB,
    build,
    fake_nvml,
    fake_vulkan,
    layout,
)

MiB = 1 << 20
RTX_4070 = 12282 * MiB  # what NVML reports for a 12 GB card
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_GPU_IS_LOST = 15
VK_ERROR_INCOMPATIBLE_DRIVER = -9


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fake-gpu-libs")


@pytest.fixture
def nvml(built: Path) -> FakeNvml:
    return fake_nvml(built)


@pytest.fixture
def vulkan(built: Path) -> FakeVulkan:
    return fake_vulkan(built)


def search(nvml: FakeNvml | None, vulkan: FakeVulkan | None, platform: str = "linux",
           machine: str = "x86_64") -> GpuSearch:
    return detect(nvml_libraries=[str(nvml.path)] if nvml else [],
                  vulkan_libraries=[str(vulkan.path)] if vulkan else [], platform=platform, machine=machine)


def test_an_nvidia_card_is_read_through_nvml_with_its_memory_driver_and_architecture(nvml: FakeNvml) -> None:
    nvml.driver("560.94", (12, 6))
    nvml.add_gpu("NVIDIA GeForce RTX 4070", RTX_4070, 10 * GiB, (8, 9))
    found = search(nvml, None)
    (gpu,) = found.gpus
    assert (gpu.name, gpu.vendor, gpu.source) == ("NVIDIA GeForce RTX 4070", "NVIDIA", "NVML")
    assert (gpu.memory_total, gpu.memory_free, gpu.shares_system_memory) == (RTX_4070, 10 * GiB, False)
    assert (gpu.driver_version, gpu.cuda_version, gpu.compute_capability) == ("560.94", (12, 6), (8, 9))
    assert found.notes == ("NVML (fake_nvml.so): driver 560.94, runs CUDA up to 12.6, 1 GPU",)
    assert nvml.sessions() == 0  # nvmlShutdown matched nvmlInit_v2


@pytest.mark.parametrize(("platform", "build_name"), [("linux", "CUDA 12.8"), ("win32", "CUDA 12.4")])
def test_a_driver_too_old_for_cuda_13_gets_cuda_12(nvml: FakeNvml, platform: str, build_name: str) -> None:
    nvml.driver("560.94", (12, 6))
    nvml.add_gpu("NVIDIA GeForce RTX 4070", RTX_4070, 10 * GiB, (8, 9))
    choice = choose_variant(search(nvml, None, platform=platform, machine="AMD64"))
    assert choice.variant == "cuda-12" and choice.runtime_helps
    assert choice.reason == f"NVIDIA GeForce RTX 4070 (12 GB), driver 560.94: {build_name} " \
                            "(CUDA 13 needs driver 580 or newer)"


def test_a_driver_of_580_or_newer_gets_cuda_13_unless_the_card_is_older_than_cuda_13_compiles_for(
        nvml: FakeNvml) -> None:
    nvml.driver("580.65.06", (13, 0))
    nvml.add_gpu("NVIDIA GeForce RTX 4070", RTX_4070, 10 * GiB, (8, 9))
    assert choose_variant(search(nvml, None)).variant == "cuda-13"
    nvml.reset()
    nvml.driver("580.65.06", (13, 0))
    nvml.add_gpu("NVIDIA GeForce GTX 1080", 8 * GiB, 7 * GiB, (6, 1))  # Pascal: CUDA 13 has no code for it
    choice = choose_variant(search(nvml, None))
    assert choice.variant == "cuda-12"
    assert "CUDA 13 has no code for compute capability 6.1; it needs 7.5 or newer" in choice.reason


def test_a_driver_too_old_for_cuda_12_gets_vulkan_and_without_vulkan_the_cpu(nvml: FakeNvml,
                                                                              vulkan: FakeVulkan) -> None:
    nvml.driver("522.25", (11, 8))  # Windows' last CUDA 11 driver: CUDA 12 needs 528.33
    nvml.add_gpu("NVIDIA GeForce GTX 1660", 6 * GiB, 5 * GiB, (7, 5))
    vulkan.add_device("NVIDIA GeForce GTX 1660", NVIDIA, DISCRETE, 6 * GiB, driver=522 << 22 | 25 << 14)
    choice = choose_variant(search(nvml, vulkan, platform="win32"))
    assert choice.variant == "vulkan" and choice.runtime_helps
    assert choice.gpu is not None and choice.gpu.source == "NVML"  # the fit reads NVML's free memory
    assert choice.reason == "NVIDIA GeForce GTX 1660 (6 GB), driver 522.25: Vulkan (CUDA 12 needs driver 528.33 " \
                            "or newer; a newer driver would let it run CUDA)"
    vulkan_gpu = next(g for g in search(nvml, vulkan).gpus if g.source == "Vulkan")
    assert vulkan_gpu.driver_version == "522.25"  # NVIDIA's packing of driverVersion, decoded
    choice = choose_variant(search(nvml, None, platform="win32"))
    assert choice.variant == "cpu" and not choice.runtime_helps and choice.gpu is None
    assert "CUDA 12 needs driver 528.33 or newer, and no Vulkan driver was found" in choice.reason


def test_where_llama_cpp_publishes_no_cuda_build_an_nvidia_card_runs_vulkan_or_the_cpu(
        nvml: FakeNvml, vulkan: FakeVulkan) -> None:
    nvml.driver("580.65.06", (13, 0))
    nvml.add_gpu("NVIDIA GH200 480GB", 96 * GiB, 95 * GiB, (9, 0))
    choice = choose_variant(search(nvml, None, machine="aarch64"))
    assert choice.variant == "cpu"
    assert choice.reason == "NVIDIA GH200 480GB (96 GB), driver 580.65.06: the CPU (llama.cpp publishes no CUDA " \
                            "build for linux on arm64, and no Vulkan driver was found)"
    vulkan.add_device("NVIDIA GH200 480GB", NVIDIA, DISCRETE, 96 * GiB)
    assert choose_variant(search(nvml, vulkan, machine="aarch64")).variant == "vulkan"


def test_no_gpu_is_the_cpu_with_what_each_place_said(nvml: FakeNvml, vulkan: FakeVulkan) -> None:
    found = search(nvml, vulkan)
    assert found.gpus == ()
    assert found.notes == ("no NVIDIA GPU (fake_nvml.so: the driver lists no GPU)",
                           "no Vulkan device (fake_vulkan.so: the Vulkan drivers list no GPU)")
    choice = choose_variant(found)
    assert (choice.variant, choice.gpu, choice.runtime_helps) == ("cpu", None, False)
    assert choice.reason == "no GPU found: the CPU"


def test_an_amd_card_through_vulkan_gets_vulkan_with_its_memory_budget(vulkan: FakeVulkan) -> None:
    vulkan.add_device("AMD Radeon RX 7600", AMD, DISCRETE, 8 * GiB, budget=7 * GiB, usage=GiB // 2)
    found = search(None, vulkan)
    (gpu,) = found.gpus
    # The device-local heap (8 GB), not the 16 GB host heap listed first; free is the budget less the usage.
    assert (gpu.vendor, gpu.memory_total, gpu.memory_free, gpu.shares_system_memory) == (
        "AMD", 8 * GiB, 7 * GiB - GiB // 2, False)
    assert found.notes == ("Vulkan (fake_vulkan.so): 1 GPU",)
    choice = choose_variant(found)
    assert (choice.variant, choice.reason) == ("vulkan", "AMD Radeon RX 7600 (8 GB): Vulkan")
    assert vulkan.live_instances() == 0 and vulkan.misuses() == 0  # the instance was destroyed


def test_a_discrete_card_is_chosen_over_an_integrated_gpu_and_cpu_devices_are_not_gpus(vulkan: FakeVulkan) -> None:
    vulkan.add_device("llvmpipe (LLVM 15.0.6, 256 bits)", 0x10005, CPU_DEVICE, 32 * GiB)
    vulkan.add_device("Intel(R) UHD Graphics 770", INTEL, INTEGRATED, 24 * GiB)
    vulkan.add_device("AMD Radeon RX 6600", AMD, DISCRETE, 8 * GiB)
    found = search(None, vulkan)
    assert [(g.name, g.shares_system_memory) for g in found.gpus] == [("Intel(R) UHD Graphics 770", True),
                                                                      ("AMD Radeon RX 6600", False)]
    choice = choose_variant(found)
    assert choice.gpu is not None and choice.gpu.name == "AMD Radeon RX 6600"
    assert found.gpus[1].memory_free is None  # no VK_EXT_memory_budget: free is not known


def test_a_vulkan_1_0_loader_is_asked_for_1_0_and_its_budget_is_not_read(vulkan: FakeVulkan) -> None:
    # A 1.0 loader refuses an instance newer than itself with VK_ERROR_INCOMPATIBLE_DRIVER, and a 1.1 function
    # (vkGetPhysicalDeviceMemoryProperties2) must not be called on a 1.0 instance: the fake counts such misuse.
    vulkan.loader_version(1, 0)
    vulkan.add_device("AMD Radeon RX 580", AMD, DISCRETE, 8 * GiB, budget=7 * GiB)
    (gpu,) = search(None, vulkan).gpus
    assert (gpu.memory_total, gpu.memory_free) == (8 * GiB, None)
    assert vulkan.misuses() == 0


def test_a_library_whose_init_fails_is_no_nvidia_gpu_with_the_reason(nvml: FakeNvml, vulkan: FakeVulkan) -> None:
    nvml.fail_init(NVML_ERROR_DRIVER_NOT_LOADED)
    vulkan.fail_create(VK_ERROR_INCOMPATIBLE_DRIVER)
    found = search(nvml, vulkan)
    assert found.gpus == ()
    assert found.notes == (
        "no NVIDIA GPU (fake_nvml.so: nvmlInit_v2 failed: Driver Not Loaded (NVML error 9))",
        "no Vulkan device (fake_vulkan.so: no Vulkan driver is installed (VK_ERROR_INCOMPATIBLE_DRIVER))")
    assert nvml.sessions() == 0 and vulkan.live_instances() == 0


def test_missing_or_foreign_libraries_are_said_not_raised(tmp_path: Path, vulkan: FakeVulkan) -> None:
    missing = tmp_path / "libnvidia-ml.so.1"
    found = detect(nvml_libraries=[str(missing), "libcaprl-no-such-library.so.1"],
                   vulkan_libraries=[str(vulkan.path)], platform="linux", machine="x86_64")
    assert found.notes[0] == f"no NVIDIA GPU ({missing} not found; libcaprl-no-such-library.so.1 not found)"
    # A library that is not NVML at all (here the fake Vulkan loader) lacks its entry points.
    found = detect(nvml_libraries=[str(vulkan.path)], vulkan_libraries=[], platform="linux", machine="x86_64")
    assert found.notes == ("no NVIDIA GPU (fake_vulkan.so: the library has no nvmlInit_v2)",)


def test_one_gpu_that_cannot_be_read_leaves_the_others(nvml: FakeNvml) -> None:
    nvml.add_gpu("NVIDIA GeForce RTX 3090", 24 * GiB, 23 * GiB, (8, 6))
    nvml.add_gpu("NVIDIA GeForce RTX 3060", 12 * GiB, 11 * GiB, (8, 6), memory_error=NVML_ERROR_GPU_IS_LOST)
    found = search(nvml, None)
    assert [g.name for g in found.gpus] == ["NVIDIA GeForce RTX 3090"]
    assert found.notes[0].endswith("1 GPU; GPU 1: nvmlDeviceGetMemoryInfo failed: GPU is lost (NVML error 15)")


def test_the_vulkan_structures_are_laid_out_as_c_lays_them_out(built: Path, vulkan: FakeVulkan) -> None:
    structs = {"VkApplicationInfo": vk.VkApplicationInfo, "VkInstanceCreateInfo": vk.VkInstanceCreateInfo,
               "VkPhysicalDeviceLimits": vk.VkPhysicalDeviceLimits,
               "VkPhysicalDeviceProperties": vk.VkPhysicalDeviceProperties, "VkMemoryHeap": vk.VkMemoryHeap,
               "VkPhysicalDeviceMemoryProperties": vk.VkPhysicalDeviceMemoryProperties,
               "VkPhysicalDeviceMemoryProperties2": vk.VkPhysicalDeviceMemoryProperties2,
               "VkPhysicalDeviceMemoryBudgetPropertiesEXT": vk.VkPhysicalDeviceMemoryBudgetPropertiesEXT,
               "VkExtensionProperties": vk.VkExtensionProperties}

    def ours(key: str) -> int:
        kind, name = key.split(" ")
        if kind == "sizeof":
            return ctypes.sizeof(structs[name])
        struct, field = name.split(".")
        return int(getattr(structs[struct], field).offset)

    expected = layout(built)
    assert expected["sizeof VkPhysicalDeviceProperties"] == 824 or ctypes.sizeof(ctypes.c_void_p) != 8
    assert {key: ours(key) for key in expected} == expected
    # And against the real header, where this machine has one (the fake header was written from it).
    if Path("/usr/include/vulkan/vulkan_core.h").is_file():
        assert layout(built, real_headers=True) == expected
    # The fake fills every field; read through our structure, the last ones land where C put them.
    vulkan.add_device("AMD Radeon RX 7600", AMD, DISCRETE, 8 * GiB)
    properties = vk.VkPhysicalDeviceProperties()
    devices = (ctypes.c_void_p * 1)()
    count = ctypes.c_uint32(1)
    vulkan.lib.vkEnumeratePhysicalDevices(None, ctypes.byref(count), devices)
    vulkan.lib.vkGetPhysicalDeviceProperties(ctypes.c_void_p(devices[0]), ctypes.byref(properties))
    assert properties.deviceName == b"AMD Radeon RX 7600" and properties.vendorID == AMD
    assert properties.limits.maxImageDimension1D == 16384 and properties.limits.minMemoryMapAlignment == 64
    assert properties.limits.nonCoherentAtomSize == 0x1122334455667788
    assert properties.sparseProperties.residencyNonResidentStrict == 1


def test_the_search_on_this_computer_answers_without_raising() -> None:
    # Whatever this machine has (a real loader without a driver here; a real GPU on a developer's desk), each
    # place looked gives a note, and a variant follows.
    found = detect()
    assert found.notes and all(isinstance(note, str) and note for note in found.notes)
    assert choose_variant(found).reason


def test_a_driver_that_crashes_its_caller_leaves_only_a_note_when_asked_from_its_own_process(built: Path) -> None:
    crashing = build("fake_nvml.c", built, "FAKE_CRASH")
    found = detect_isolated(nvml_libraries=[str(crashing)], vulkan_libraries=[])
    assert found.gpus == ()
    (note,) = found.notes
    assert note.startswith("the GPU search failed: the search process ended without an answer (exit code ")
    assert note.endswith(": a GPU driver crashed it)")
    assert choose_variant(found).variant == "cpu"


def test_what_the_search_process_found_comes_back_whole(built: Path) -> None:
    preset = build("fake_nvml.c", built, "FAKE_PRESET_GPU")
    found = detect_isolated(nvml_libraries=[str(preset)], vulkan_libraries=[])
    assert [(g.name, g.memory_total, g.driver_version) for g in found.gpus] == [
        ("NVIDIA GeForce RTX 4070", RTX_4070, "560.94")]
    assert choose_variant(found).variant == "cuda-12"


def test_doctor_shows_the_gpu_what_each_place_said_and_the_variant_with_its_reason(nvml: FakeNvml,
                                                                                   vulkan: FakeVulkan) -> None:
    nvml.driver("560.94", (12, 6))
    nvml.add_gpu("NVIDIA GeForce RTX 4070", RTX_4070, int(10.4 * GiB), (8, 9))
    assert list(gpu_lines(search(nvml, vulkan, platform="win32", machine="AMD64"))) == [
        "NVIDIA GeForce RTX 4070: 12 GB, 10.4 GB free, driver 560.94 (runs CUDA up to 12.6), compute capability 8.9 "
        "[NVML]",
        "NVML (fake_nvml.so): driver 560.94, runs CUDA up to 12.6, 1 GPU",
        "no Vulkan device (fake_vulkan.so: the Vulkan drivers list no GPU)",
        "runtime variant cuda-12: NVIDIA GeForce RTX 4070 (12 GB), driver 560.94: CUDA 12.4 (CUDA 13 needs driver 580 "
        "or newer)",
    ]

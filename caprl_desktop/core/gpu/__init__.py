"""The GPU this computer has, found without any GPU library of our own, and which llama.cpp build suits it.

NVIDIA cards through NVML and every card through the Vulkan loader, both drivers' own libraries loaded with
ctypes (``nvml``, ``vulkan``); Apple silicon from the platform (``detect``). ``variant`` turns what was found
into the runtime variant (cuda-13, cuda-12, vulkan, metal or cpu) with the reason in words. Nothing here
raises on a missing or broken driver: that is an answer ("no NVIDIA GPU (…)"), not a failure.
"""

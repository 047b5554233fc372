# Included after every project() call of the llama-cpp-python build (CMAKE_PROJECT_INCLUDE).
# llama-cpp-python forces LLAMA_BUILD_COMMON ON; annalign loads only libllama and libggml*, so the
# common library (chat parsers, downloader, JSON schema: about 40% of the compile) is switched off
# again once llama.cpp's own project() has run, before its option() reads the cache.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "annalign: llama-cpp-python needs no common library" FORCE)
set(LLAMA_BUILD_COMMON OFF)

# Store master core benchmark (include from bench/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/store.cmake) )
add_executable(bench_store_master ${CMAKE_CURRENT_LIST_DIR}/store_master_bench.c)
target_link_libraries(bench_store_master PRIVATE mc_core)

# hw data-plane benchmark (include from bench/CMakeLists.txt by adding
# "xport" to its foreach(part ...) list). Run a Release build:
#   bench_hw_xport [--secs S] [--conns N] [--no-iperf]
add_executable(bench_hw_xport ${CMAKE_CURRENT_LIST_DIR}/hw_xport_bench.c)
target_link_libraries(bench_hw_xport PRIVATE mc_xport mc_hw)

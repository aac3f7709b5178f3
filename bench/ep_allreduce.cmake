# bench_ep_allreduce: EP all_reduce of 64 MiB over 4 local processes vs a
# memcpy lower limit measured in the same run (bench/ep_allreduce.c).
if(TARGET mooncake)
  add_executable(bench_ep_allreduce ${CMAKE_CURRENT_SOURCE_DIR}/ep_allreduce.c)
  target_link_libraries(bench_ep_allreduce PRIVATE mooncake)
endif()

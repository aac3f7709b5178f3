# Every dependency comes from Debian; a missing one stops configure with the package to install.
find_package(PkgConfig REQUIRED)

function(mc_require_pkg var module debpkg)
  pkg_check_modules(${var} IMPORTED_TARGET ${module})
  if(NOT ${var}_FOUND)
    message(FATAL_ERROR "Missing dependency '${module}'. Install it with: apt-get install ${debpkg}")
  endif()
endfunction()

mc_require_pkg(CJSON libcjson libcjson-dev)
mc_require_pkg(CHECK check check)
mc_require_pkg(MHD libmicrohttpd libmicrohttpd-dev)
find_package(Threads REQUIRED)

# tollgate_add_plugin(<name> SOURCES <files>... [LIBS <targets>...] [OUTPUT_DIR <dir>])
#
# Builds a Tollgate plugin as a MODULE library named <name>.so with the flags the daemon's
# loader and its systemd sandbox rely on: hidden visibility (only the entry symbol is
# exported), no text relocations (link fails otherwise), a non-executable stack, full RELRO,
# and no undefined symbols; a version script exports the entry symbol only. Shipped with the
# SDK and used in-tree alike.
set(TOLLGATE_PLUGIN_VERSION_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/tollgate-plugin.map)
function(tollgate_add_plugin name)
  cmake_parse_arguments(P "" "OUTPUT_DIR" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(NOT DEFINED CMAKE_CXX_STANDARD)
    target_compile_features(${name} PRIVATE cxx_std_17)
  endif()
  if(P_OUTPUT_DIR)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  endif()
  target_link_libraries(${name} PRIVATE TollgateSDK::sdk ${P_LIBS})
  target_link_options(${name} PRIVATE
    -Wl,-z,noexecstack -Wl,-z,text -Wl,-z,relro -Wl,-z,now -Wl,--no-undefined
    -Wl,--version-script=${TOLLGATE_PLUGIN_VERSION_SCRIPT})
  set_property(TARGET ${name} APPEND PROPERTY LINK_DEPENDS ${TOLLGATE_PLUGIN_VERSION_SCRIPT})
endfunction()

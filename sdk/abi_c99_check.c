/* Compiled with -std=c99 -pedantic-errors -Werror: the ABI headers are plain C99. */
#include <tollgate/abi/tollgate.h>

int tollgate_abi_c99_check(void);
int tollgate_abi_c99_check(void) {
  return (int)(sizeof(tg_plugin_descriptor) + sizeof(tg_storage_vtable) + sizeof(tg_sms_vtable) +
               sizeof(tg_voice_vtable) + sizeof(tg_billing_vtable) + sizeof(tg_pricing_vtable));
}

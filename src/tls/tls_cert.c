/* Certificate summaries. */
#include "tls/tls_cert.h"

#include <stdlib.h>

void tls_cert_summary_free(struct tls_cert_summary *cert)
{
	free(cert);
}

/* mailtap: passive sensor for mail transport security. */
#include <stdio.h>

int main(void)
{
	puts("mailtap");
	return 0;
}

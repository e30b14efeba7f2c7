/* tlstrace's version, written here only: the launcher prints it
 * (tlstrace --version) and the library carries it. */
#ifndef TT_VERSION_H
#define TT_VERSION_H

#define TT_VERSION "0.1.0"

#endif

/* version.h - the one version string of the build. */
#ifndef SKYDIVE_VERSION_H
#define SKYDIVE_VERSION_H

#define SKYDIVE_VERSION "0.1.0"

#endif

# cmake -DIN=FILE.proto -DOUT=FILE.proto -P lite.cmake
# Copies a .proto and marks the copy optimize_for = LITE_RUNTIME (same wire
# format, no descriptors or reflection): the agent's build of the contract.
file(READ ${IN} text)
file(WRITE ${OUT} "${text}\n// Added by proto/lite.cmake for attest-agent's build.\noption optimize_for = LITE_RUNTIME;\n")

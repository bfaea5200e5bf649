"""File formats, one module each: CSV and ``.npy`` input (:mod:`.csv_input`,
:mod:`.npy_input`, opened through :mod:`.samples`), the NaN policy, timestamps, coefficient
files with their sidecar (:mod:`.coefficients`), quantisation, many-series manifests and the
line protocol of ``hippo stream``. No HiPPO maths here."""

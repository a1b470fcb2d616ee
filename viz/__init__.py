"""Pictures: skeleton overlays (``viz.overlay``), 3D skeleton renders (``viz.render3d``) and
plots (``viz.plots``). Import the submodules directly; nothing heavy loads with the package."""

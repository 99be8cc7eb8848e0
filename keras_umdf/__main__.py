import sys

from keras_umdf.cli import main

sys.exit(main())

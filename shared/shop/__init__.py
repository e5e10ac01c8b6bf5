"""The diamond shop: products, orders paid through So-net mpay, fulfilment by product class."""

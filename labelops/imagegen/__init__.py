"""The conditional GAN: product images by category, and an image tagger (the discriminator's classifier)."""
